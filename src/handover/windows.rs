//! The Windows calls behind the hand-over (there is no `exec`): a job
//! object that ends the real uv with the shim, and a console control
//! handler that leaves Ctrl-C to uv. The same two steps as uv's own `uvx`.

use std::os::windows::io::AsRawHandle;
use std::process::Child;

use windows_sys::Win32::Foundation::{CloseHandle, HANDLE, TRUE};
use windows_sys::Win32::System::Console::{
    FreeConsole, GetConsoleProcessList, SetConsoleCtrlHandler,
};
use windows_sys::Win32::System::JobObjects::{
    AssignProcessToJobObject, CreateJobObjectW, JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE,
    JOB_OBJECT_LIMIT_SILENT_BREAKAWAY_OK, JOBOBJECT_EXTENDED_LIMIT_INFORMATION,
    JobObjectExtendedLimitInformation, QueryInformationJobObject, SetInformationJobObject,
};

/// A job object whose processes end when its last handle closes: when the
/// shim ends, however it ends, so does the uv it started.
pub struct Job(HANDLE);

impl Job {
    /// A new job with `KILL_ON_JOB_CLOSE` (and `SILENT_BREAKAWAY_OK`, so uv
    /// may still start processes that outlive it, as it asks for).
    pub fn new() -> std::io::Result<Job> {
        // SAFETY: no attributes and no name: an anonymous job object.
        let handle = unsafe { CreateJobObjectW(std::ptr::null(), std::ptr::null()) };
        if handle.is_null() {
            return Err(std::io::Error::last_os_error());
        }
        let job = Job(handle);
        // SAFETY: all-zero is a valid value of this plain C struct.
        let mut info: JOBOBJECT_EXTENDED_LIMIT_INFORMATION = unsafe { std::mem::zeroed() };
        let size = u32::try_from(size_of_val(&info)).expect("the struct is small");
        // SAFETY: a live job handle, the class matching the struct, its size.
        let queried = unsafe {
            QueryInformationJobObject(
                job.0,
                JobObjectExtendedLimitInformation,
                (&raw mut info).cast(),
                size,
                std::ptr::null_mut(),
            )
        };
        if queried == 0 {
            return Err(std::io::Error::last_os_error());
        }
        info.BasicLimitInformation.LimitFlags |=
            JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE | JOB_OBJECT_LIMIT_SILENT_BREAKAWAY_OK;
        // SAFETY: as above, with the struct filled in.
        let set = unsafe {
            SetInformationJobObject(
                job.0,
                JobObjectExtendedLimitInformation,
                (&raw const info).cast(),
                size,
            )
        };
        if set == 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(job)
    }

    /// Puts `child` into the job.
    pub fn assign(&self, child: &Child) -> std::io::Result<()> {
        // SAFETY: both handles are live: the job's is ours, the child's is
        // borrowed from `child` for the call.
        let assigned = unsafe { AssignProcessToJobObject(self.0, child.as_raw_handle()) };
        if assigned == 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        // SAFETY: the handle is ours and closed once. Closing it ends the
        // processes in the job, which is the point.
        unsafe { CloseHandle(self.0) };
    }
}

/// From now on Ctrl-C, Ctrl-Break and a closing console do not end the
/// shim: the console sends the same event to uv, which decides.
pub fn ignore_ctrl_c() {
    unsafe extern "system" fn ignore(_event: u32) -> windows_sys::core::BOOL {
        TRUE
    }
    // SAFETY: `ignore` is a valid handler for the life of the process. A
    // failure leaves the default handler, as before: nothing to report.
    unsafe { SetConsoleCtrlHandler(Some(ignore), TRUE) };
}

/// Lets go of a console window that Windows made for this process alone
/// (the shim is a console program, and `uvw` is started from GUIs, which
/// have none): the window closes at once instead of staying open while uv
/// runs. A console shared with others (a terminal) is kept.
pub fn release_own_console() {
    let mut attached = [0u32; 2];
    // SAFETY: the buffer holds the two ids the call is told it may write.
    let count = unsafe { GetConsoleProcessList(attached.as_mut_ptr(), 2) };
    if count == 1 {
        // SAFETY: detaching from a console has no preconditions; the
        // standard handles of a GUI start were no terminal's anyway.
        unsafe { FreeConsole() };
    }
}
