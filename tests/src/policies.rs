//! What `infra/template.yaml` allows each function to call: the actions of the `Allow`
//! statements of its policies, by function (the binary it is built from). The emulator checks
//! no permissions, so the tests hold the calls each function makes (`recording.rs`) against
//! these.

use serde_yaml::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

/// Actions by function: `get-service` → `{"dynamodb:GetItem", "dynamodb:Query"}`.
pub type Actions = BTreeMap<String, BTreeSet<String>>;

/// The actions each function's policies allow; an action may be a pattern (`dynamodb:*`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policies(Actions);

impl Policies {
    /// `infra/template.yaml`'s, read once per process.
    pub fn of_template() -> &'static Policies {
        static POLICIES: OnceLock<Policies> = OnceLock::new();
        POLICIES.get_or_init(|| {
            let path = crate::emulator::workspace_root().join("infra/template.yaml");
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            Policies::parse(&text).unwrap_or_else(|e| panic!("infra/template.yaml: {e}"))
        })
    }

    /// The policies of every `AWS::Serverless::Function` of a SAM template.
    pub fn parse(template: &str) -> Result<Self, String> {
        let template: Value = serde_yaml::from_str(template).map_err(|e| e.to_string())?;
        let resources = template["Resources"].as_mapping().ok_or("no Resources")?;
        let mut policies = Actions::new();
        for (name, resource) in resources {
            if resource["Type"] != "AWS::Serverless::Function" {
                continue;
            }
            let name = name.as_str().unwrap_or_default();
            let function = resource["Properties"]["Handler"]
                .as_str()
                .ok_or_else(|| format!("{name}: no Properties.Handler"))?;
            let allowed =
                allowed_actions(&resource["Properties"]["Policies"]).map_err(|e| format!("{name}: {e}"))?;
            policies.insert(function.to_owned(), allowed);
        }
        Ok(Self(policies))
    }

    /// The functions the template deploys.
    pub fn functions(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    /// Whether `function`'s policies allow `action` (a function not deployed is allowed nothing).
    pub fn grants(&self, function: &str, action: &str) -> bool {
        self.0
            .get(function)
            .is_some_and(|allowed| allowed.iter().any(|pattern| action_matches(pattern, action)))
    }

    /// The calls of `calls` their function's policies do not allow.
    pub fn ungranted(&self, calls: &Actions) -> Actions {
        let mut ungranted = Actions::new();
        for (function, actions) in calls {
            let refused: BTreeSet<String> =
                actions.iter().filter(|action| !self.grants(function, action)).cloned().collect();
            if !refused.is_empty() {
                ungranted.insert(function.clone(), refused);
            }
        }
        ungranted
    }

    /// What each policy allows that no call of `calls` needed.
    pub fn unused(&self, calls: &Actions) -> Actions {
        let mut unused = Actions::new();
        for (function, allowed) in &self.0 {
            let made = calls.get(function);
            let idle: BTreeSet<String> = allowed
                .iter()
                .filter(|pattern| !made.is_some_and(|made| made.iter().any(|a| action_matches(pattern, a))))
                .cloned()
                .collect();
            if !idle.is_empty() {
                unused.insert(function.clone(), idle);
            }
        }
        unused
    }
}

/// One line per function: `get-account: dynamodb:BatchGetItem, ...`.
pub fn listing(actions: &Actions) -> String {
    actions
        .iter()
        .map(|(function, actions)| {
            format!("  {function}: {}", actions.iter().cloned().collect::<Vec<_>>().join(", "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The actions a function's `Policies` allow. Only inline policy documents of `Allow`
/// statements without conditions are read (the form the template uses): a SAM policy template,
/// a managed policy, a `Deny`, a `NotAction` or a `Condition` is refused rather than guessed at.
fn allowed_actions(policies: &Value) -> Result<BTreeSet<String>, String> {
    let mut allowed = BTreeSet::new();
    if policies.is_null() {
        return Ok(allowed);
    }
    let policies = policies.as_sequence().ok_or("Policies is not a list")?;
    for policy in policies {
        let statements = match &policy["Statement"] {
            Value::Sequence(statements) => statements.clone(),
            statement @ Value::Mapping(_) => vec![statement.clone()],
            _ => return Err(format!("a policy that is not an inline document: {}", yaml(policy))),
        };
        for statement in &statements {
            let plain = statement["Effect"] == "Allow"
                && statement.get("NotAction").is_none()
                && statement.get("Condition").is_none();
            if !plain {
                return Err(format!("a statement other than a plain Allow: {}", yaml(statement)));
            }
            match &statement["Action"] {
                Value::String(action) => {
                    allowed.insert(action.clone());
                }
                Value::Sequence(actions) => {
                    for action in actions {
                        let action = action.as_str().ok_or_else(|| format!("an action {}", yaml(action)))?;
                        allowed.insert(action.to_owned());
                    }
                }
                other => return Err(format!("a statement's Action is {}", yaml(other))),
            }
        }
    }
    Ok(allowed)
}

fn yaml(value: &Value) -> String {
    serde_yaml::to_string(value).unwrap_or_default().trim().replace('\n', " ")
}

/// IAM's matching of an action against a policy's: case-insensitive, `*` for any run of
/// characters, `?` for one.
fn action_matches(pattern: &str, action: &str) -> bool {
    fn glob(pattern: &[u8], action: &[u8]) -> bool {
        match (pattern.split_first(), action.split_first()) {
            (None, None) => true,
            (Some((b'*', rest)), _) => {
                glob(rest, action) || (!action.is_empty() && glob(pattern, &action[1..]))
            }
            (Some((b'?', rest)), Some((_, more))) => glob(rest, more),
            (Some((p, rest)), Some((a, more))) if p.eq_ignore_ascii_case(a) => glob(rest, more),
            _ => false,
        }
    }
    glob(pattern.as_bytes(), action.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = r#"
Resources:
  Table: {Type: AWS::DynamoDB::Table}
  Reader:
    Type: AWS::Serverless::Function
    Properties:
      Handler: reader
      Policies:
        - Version: "2012-10-17"
          Statement:
            - Effect: Allow
              Action: [dynamodb:GetItem, dynamodb:Query]
              Resource: !GetAtt Table.Arn
            - Effect: Allow
              Action: sqs:Send*
              Resource: "*"
  Silent:
    Type: AWS::Serverless::Function
    Properties: {Handler: silent}
"#;

    fn calls(entries: &[(&str, &str)]) -> Actions {
        let mut calls = Actions::new();
        for (function, action) in entries {
            calls.entry((*function).to_owned()).or_default().insert((*action).to_owned());
        }
        calls
    }

    #[test]
    fn reads_each_functions_allowed_actions_with_patterns() {
        let policies = Policies::parse(TEMPLATE).unwrap();
        assert_eq!(policies.functions().collect::<Vec<_>>(), ["reader", "silent"]);
        assert!(policies.grants("reader", "dynamodb:GetItem"));
        assert!(policies.grants("reader", "DynamoDB:getitem"), "IAM actions match regardless of case");
        assert!(policies.grants("reader", "sqs:SendMessage"));
        assert!(!policies.grants("reader", "dynamodb:BatchGetItem"));
        assert!(!policies.grants("silent", "dynamodb:GetItem"));
        assert!(!policies.grants("not-deployed", "dynamodb:GetItem"));
    }

    #[test]
    fn lists_what_is_called_without_a_grant_and_what_is_granted_unused() {
        let policies = Policies::parse(TEMPLATE).unwrap();
        let made = calls(&[
            ("reader", "dynamodb:GetItem"),
            ("reader", "dynamodb:BatchGetItem"),
            ("other", "sqs:SendMessage"),
        ]);
        assert_eq!(
            policies.ungranted(&made),
            calls(&[("reader", "dynamodb:BatchGetItem"), ("other", "sqs:SendMessage")])
        );
        assert_eq!(policies.unused(&made), calls(&[("reader", "dynamodb:Query"), ("reader", "sqs:Send*")]));
    }

    #[test]
    fn refuses_policy_forms_it_does_not_read() {
        let with = |policy: &str| {
            TEMPLATE.replace(
                "      Policies:\n        - Version",
                &format!("      Policies:\n        - {policy}\n        - Version"),
            )
        };
        for policy in ["AWSLambdaBasicExecutionRole", "DynamoDBCrudPolicy: {TableName: !Ref Table}"] {
            assert!(Policies::parse(&with(policy)).is_err(), "{policy}");
        }
        let denied = TEMPLATE.replace(
            "- Effect: Allow\n              Action: sqs",
            "- Effect: Deny\n              Action: sqs",
        );
        assert!(Policies::parse(&denied).unwrap_err().contains("plain Allow"));
    }
}
