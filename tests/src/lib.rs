//! The test harness: the local emulator and reference panel, the resources the stack needs,
//! the queue bridge, and the router that dispatches production paths to each function's
//! handler in-process.

pub mod bridge;
pub mod counting;
pub mod emulator;
pub mod panel;
pub mod router;
pub mod stack;
