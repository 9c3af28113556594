//! The test harness: the local emulator, the resources the stack needs, and the router that
//! dispatches production paths to each function's handler in-process.

pub mod emulator;
pub mod router;
pub mod stack;
