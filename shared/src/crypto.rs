//! The process's one cryptography library, ring: for TLS (the SDK's HTTPS client and the
//! panel's) and for the tokens' HS256. aws-lc, which the SDK, reqwest and jsonwebtoken would
//! each pick by default, is most of a megabyte per algorithm family in the package
//! (BENCHMARKS.md, "Package").

use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::{ErrorKind, Result};
use jsonwebtoken::signature::{Error, Signer, Verifier};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, DecodingKeyKind, EncodingKey};
use ring::hmac;
use std::sync::Once;

/// The SDK's HTTPS client: hyper and rustls on ring.
pub fn https_client() -> aws_sdk_dynamodb::config::SharedHttpClient {
    use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
    aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).build_https()
}

/// Makes ring the process's provider for rustls (reqwest's TLS) and for jsonwebtoken; before
/// either is used. Idempotent.
pub fn install() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        // Either may have been installed by an embedding process (a test binary): ours or not, a
        // provider is there.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let _ = HS256_ONLY.install_default();
    });
}

/// jsonwebtoken's provider: HS256, the tokens' one algorithm, and nothing else.
static HS256_ONLY: CryptoProvider = CryptoProvider {
    signer_factory: signer,
    verifier_factory: verifier,
    key_utils: KeyUtils::new_unimplemented(),
};

fn signer(algorithm: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>> {
    match (algorithm, key.family()) {
        (Algorithm::HS256, AlgorithmFamily::Hmac) => Ok(Box::new(Hs256::new(key.as_bytes()))),
        _ => Err(ErrorKind::InvalidAlgorithm.into()),
    }
}

fn verifier(algorithm: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>> {
    match (algorithm, key.kind()) {
        (Algorithm::HS256, DecodingKeyKind::SecretOrDer(secret)) if key.family() == AlgorithmFamily::Hmac => {
            Ok(Box::new(Hs256::new(secret)))
        }
        _ => Err(ErrorKind::InvalidAlgorithm.into()),
    }
}

struct Hs256(hmac::Key);

impl Hs256 {
    fn new(secret: &[u8]) -> Self {
        Self(hmac::Key::new(hmac::HMAC_SHA256, secret))
    }
}

impl Signer<Vec<u8>> for Hs256 {
    fn try_sign(&self, message: &[u8]) -> std::result::Result<Vec<u8>, Error> {
        Ok(hmac::sign(&self.0, message).as_ref().to_vec())
    }
}

impl Verifier<Vec<u8>> for Hs256 {
    /// In constant time (ring's `hmac::verify`).
    fn verify(&self, message: &[u8], signature: &Vec<u8>) -> std::result::Result<(), Error> {
        hmac::verify(&self.0, message, signature).map_err(|_| Error::new())
    }
}

impl JwtSigner for Hs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::HS256
    }
}

impl JwtVerifier for Hs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::HS256
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7515, appendix A.1: the HS256 example's key, signing input and signature.
    #[test]
    fn hs256_signs_and_verifies_the_rfc_7515_example() {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let key = b64
            .decode("AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow")
            .unwrap();
        let input = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
        let signature = b64.decode("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk").unwrap();
        let hs256 = Hs256::new(&key);
        assert_eq!(hs256.try_sign(input.as_bytes()).unwrap(), signature);
        assert!(hs256.verify(input.as_bytes(), &signature).is_ok());
        let mut tampered = signature.clone();
        tampered[0] ^= 1;
        assert!(hs256.verify(input.as_bytes(), &tampered).is_err());
        assert!(Hs256::new(b"another key").verify(input.as_bytes(), &signature).is_err());
    }

    #[test]
    fn only_hs256_with_a_secret_is_provided() {
        assert!(signer(&Algorithm::HS256, &EncodingKey::from_secret(b"k")).is_ok());
        assert!(signer(&Algorithm::HS512, &EncodingKey::from_secret(b"k")).is_err());
        assert!(verifier(&Algorithm::RS256, &DecodingKey::from_secret(b"k")).is_err());
        let rsa = DecodingKey::from_rsa_raw_components(b"n", b"e");
        assert!(verifier(&Algorithm::HS256, &rsa).is_err());
    }
}
