//! A property-based state machine test of the service lifecycle (`proptest-state-machine`):
//! random sequences of every operation, by client and provider, the panel's outcomes and the
//! schedules, with time passing. After every step the service must be in a state the model
//! allows, a deleted service must stay deleted and refuse everything, every accepted
//! operation must add exactly one history entry that tells the move, and the version must rise
//! by one with each accepted operation and never otherwise.

use super::history::Actor;
use super::lifecycle::{resting_status, Change, Hold, Outcome, Refusal};
use super::schedule::system;
use super::{ClientDelete, HistoryEntry, ProductTypeRules, Role, Service, Status, Timestamp};
use proptest::prelude::*;
use proptest_state_machine::{prop_state_machine, ReferenceStateMachine, StateMachineTest};

#[derive(Debug, Clone)]
enum Step {
    Pay,
    Activate,
    Disable(Role),
    Enable(Role),
    Renew(u32),
    Reboot,
    Transfer,
    Delete(Role),
    /// The panel answers the pending operation (done, or no resources).
    Finish(bool),
    /// The queue gives the pending operation up.
    Abandon,
    ReportAbuse(u32),
    AbuseSweep,
    ExpirySweep,
    Grace(i64),
    /// Days pass.
    Wait(i64),
}

fn role() -> impl Strategy<Value = Role> {
    prop_oneof![Just(Role::Client), Just(Role::Provider)]
}

/// The steps are generated whatever the state: the system decides what it accepts, and the
/// invariants judge the outcome.
struct Steps;

impl ReferenceStateMachine for Steps {
    type State = ();
    type Transition = Step;

    fn init_state() -> BoxedStrategy<()> {
        Just(()).boxed()
    }

    fn transitions(_: &()) -> BoxedStrategy<Step> {
        prop_oneof![
            2 => Just(Step::Pay),
            1 => Just(Step::Activate),
            2 => role().prop_map(Step::Disable),
            2 => role().prop_map(Step::Enable),
            2 => (0u32..3).prop_map(Step::Renew),
            1 => Just(Step::Reboot),
            1 => Just(Step::Transfer),
            1 => role().prop_map(Step::Delete),
            6 => any::<bool>().prop_map(Step::Finish),
            1 => Just(Step::Abandon),
            1 => (1u32..80).prop_map(Step::ReportAbuse),
            1 => Just(Step::AbuseSweep),
            2 => Just(Step::ExpirySweep),
            1 => (1i64..60).prop_map(Step::Grace),
            3 => (1i64..40).prop_map(Step::Wait),
        ]
        .boxed()
    }

    fn apply(state: (), _: &Step) {
        state
    }
}

struct Sut {
    service: Service,
    now: Timestamp,
    history: Vec<HistoryEntry>,
    accepted: usize,
    deleted_at_step: Option<usize>,
    steps: usize,
}

fn rules() -> ProductTypeRules {
    ProductTypeRules { client_delete: ClientDelete::EndOfPeriod, ..super::catalog::sample_rules() }
}

fn actor(role: Role) -> Actor {
    Actor { id: if role == Role::Client { "alice".into() } else { "ops".into() }, role }
}

impl Sut {
    /// What the system does with a step: the change it accepts, or none.
    fn decide(&self, step: &Step) -> Option<Change> {
        let (s, now, rules) = (&self.service, self.now, rules());
        let refused = |r: Result<Change, Refusal>| r.ok();
        match step {
            Step::Pay => refused(s.pay_order(&actor(Role::Client), now)),
            Step::Activate => refused(s.activate(&actor(Role::Provider), now)),
            Step::Disable(role) => refused(s.disable(&actor(*role), &rules, None, now)),
            Step::Enable(role) => refused(s.enable(&actor(*role), now)),
            Step::Renew(periods) => refused(s.renew(*periods, &actor(Role::Client), now)),
            Step::Reboot => refused(s.reboot(&actor(Role::Client), now)),
            Step::Transfer => refused(s.transfer(&actor(Role::Provider), now)),
            Step::Delete(role) => s.delete(&actor(*role), &rules, now).ok().map(|(change, _)| change),
            Step::Finish(done) => {
                let outcome = if *done { Outcome::Done } else { Outcome::NoResources };
                s.pending.as_ref().and_then(|p| s.finish(&p.id, outcome, now))
            }
            Step::Abandon => {
                s.pending.as_ref().and_then(|p| s.abandon(&p.id, "panel down", now)).map(|(c, _)| c)
            }
            Step::ReportAbuse(score) => refused(s.report_abuse(*score, "spam", &actor(Role::Provider), now)),
            Step::AbuseSweep => refused(s.suspend_for_abuse(&rules, &system("abuse-sweep"), now)),
            Step::ExpirySweep => refused(s.expire(&system("expiry-sweep"), now))
                .or_else(|| refused(s.purge(&rules, &system("expiry-sweep"), now))),
            Step::Grace(days) => {
                let until = s.expires_at.unwrap_or(now).plus_seconds(days * 86_400);
                refused(s.grant_grace(until, "promised", &actor(Role::Provider), now))
            }
            Step::Wait(_) => None,
        }
    }
}

struct LifecycleModel;

impl StateMachineTest for LifecycleModel {
    type SystemUnderTest = Sut;
    type Reference = Steps;

    fn init_test(_: &()) -> Sut {
        let now = Timestamp::parse("2026-11-01T00:00:00Z").unwrap();
        let service = super::order::sample_service(now);
        Sut { service, now, history: Vec::new(), accepted: 0, deleted_at_step: None, steps: 0 }
    }

    fn apply(mut sut: Sut, _: &(), step: Step) -> Sut {
        sut.steps += 1;
        if let Step::Wait(days) = step {
            sut.now = sut.now.plus_seconds(days * 86_400);
            return sut;
        }
        let before = sut.service.clone();
        match sut.decide(&step) {
            Some(change) => {
                assert!(sut.deleted_at_step.is_none(), "{step:?} accepted on a deleted service");
                assert_eq!(change.service.version, before.version + 1, "{step:?}: one version per write");
                assert_eq!(change.entry.status_before, Some(before.status), "{step:?}");
                assert_eq!(change.entry.status_after, change.service.status, "{step:?}");
                sut.accepted += 1;
                sut.history.push(change.entry);
                sut.service = change.service;
            }
            None => assert_eq!(sut.service, before, "{step:?} refused but changed the service"),
        }
        if sut.service.status == Status::Deleted && sut.deleted_at_step.is_none() {
            sut.deleted_at_step = Some(sut.steps);
        }
        sut
    }

    fn check_invariants(sut: &Sut, _: &()) {
        let s = &sut.service;
        assert_eq!(sut.history.len(), sut.accepted, "one history entry per accepted operation");
        assert_eq!(s.version, 1 + sut.accepted as u64, "the version rises with every write, only then");
        if sut.deleted_at_step.is_some() {
            assert_eq!(s.status, Status::Deleted, "deleted is final");
        }
        assert_eq!(
            s.status == Status::InProgress,
            s.operation.is_some(),
            "an operation exactly in progress: {s:?}"
        );
        assert_eq!(
            s.status == Status::InProgress,
            s.pending.is_some(),
            "work pending exactly in progress: {s:?}"
        );
        let mut sorted = s.holds.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted, s.holds, "suspension reasons are a sorted set");
        match s.status {
            Status::Ordered | Status::NotAvailable | Status::ConfigurationRequired => {
                assert!(s.expires_at.is_none() && s.holds.is_empty(), "never activated: {s:?}");
            }
            Status::Deleted => assert!(s.pending.is_none()),
            Status::InProgress => {}
            at_rest => {
                assert!(s.expires_at.is_some(), "activated: {s:?}");
                assert_eq!(at_rest, resting_status(&s.holds), "the strongest reason shows: {s:?}");
                assert_eq!(s.holds.contains(&Hold::NonPayment), s.non_payment_since.is_some(), "{s:?}");
            }
        }
    }
}

prop_state_machine! {
    #![proptest_config(ProptestConfig { cases: 1000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn the_lifecycle_keeps_its_invariants(sequential 1..50 => LifecycleModel);
}
