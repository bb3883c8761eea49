//! Panics while fuzzing: a hook that records the message and location of the last panic on
//! each thread instead of printing it (thousands of caught panics would flood the output), and
//! restores the previous hook when the last user is done.

use std::cell::RefCell;
use std::sync::Mutex;

type Hook = Box<dyn Fn(&std::panic::PanicHookInfo<'_>) + Sync + Send + 'static>;

thread_local! {
    static LAST: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Users of the silent hook and the hook it replaced.
static STATE: Mutex<(usize, Option<Hook>)> = Mutex::new((0, None));

/// While alive, panics are recorded (see [`take_last`]) rather than printed.
pub struct SilentPanics(());

impl SilentPanics {
    /// Installs the recording hook (once, however many guards are alive).
    pub fn install() -> Self {
        let mut state = STATE.lock().unwrap_or_else(|e| e.into_inner());
        if state.0 == 0 {
            state.1 = Some(std::panic::take_hook());
            std::panic::set_hook(Box::new(|info| {
                let text = info.to_string().replace('\n', " ");
                LAST.with(|l| *l.borrow_mut() = Some(text));
            }));
        }
        state.0 += 1;
        SilentPanics(())
    }
}

impl Drop for SilentPanics {
    fn drop(&mut self) {
        let mut state = STATE.lock().unwrap_or_else(|e| e.into_inner());
        state.0 -= 1;
        if state.0 == 0
            && let Some(previous) = state.1.take()
        {
            std::panic::set_hook(previous);
        }
    }
}

/// The message ("panicked at file:line:col: text") of this thread's last panic, if any.
pub fn take_last() -> Option<String> {
    LAST.with(|l| l.borrow_mut().take())
}

/// The text of a panic payload (`&str` or `String`; other payloads are named as such).
pub fn payload_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic with a non-string payload".into()
    }
}
