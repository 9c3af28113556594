//! Counting DynamoDB calls at the SDK, for the benchmarks: every operation the code asks for,
//! once however many attempts the SDK makes of it (a retry of a throttled or slow call is the
//! emulator's, not the design's).

use aws_config::SdkConfig;
use aws_sdk_dynamodb::config::interceptors::BeforeSerializationInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept};
use aws_sdk_dynamodb::error::BoxError;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

#[derive(Debug, Clone, Default)]
pub struct CallCounter(Arc<AtomicUsize>);

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "CallCounter"
    }

    fn read_before_execution(
        &self,
        _: &BeforeSerializationInterceptorContextRef<'_>,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

impl CallCounter {
    /// A DynamoDB client whose every request this counter counts.
    pub fn client(&self, config: &SdkConfig) -> aws_sdk_dynamodb::Client {
        let counted = aws_sdk_dynamodb::config::Builder::from(config).interceptor(self.clone()).build();
        aws_sdk_dynamodb::Client::from_conf(counted)
    }

    /// The calls counted so far.
    pub fn count(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }

    /// The calls counted since the last `take`, starting again from zero.
    pub fn take(&self) -> usize {
        self.0.swap(0, Ordering::Relaxed)
    }
}
