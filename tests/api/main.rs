//! Integration and end-to-end tests: every call goes through the production route table to the
//! real handler, against DynamoDB in the local emulator.

mod actions;
mod auth;
mod billing;
mod catalog;
mod changes;
mod console;
mod crashes;
mod display;
mod e2e;
mod emulator;
mod errors;
mod event_delivery;
mod failure_handling;
mod fault_run;
mod faults;
mod helpers;
mod house;
mod idempotency;
mod imports;
mod inputs;
mod lifecycle;
mod money;
mod notifications;
mod package;
mod paid_time;
mod permissions;
mod quotes;
mod reconciliation;
mod reliability;
mod routes;
mod schedules;
mod security;
mod services;
mod settings;
mod tickets;
