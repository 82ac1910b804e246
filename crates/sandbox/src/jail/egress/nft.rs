//! Running `nft` scripts. In-process through libnftables (the library the `nft` program
//! is a front end of, `libnftables.so.1`, loaded at run time so that building Hearth
//! needs no nftables headers), so that an environment's set elements cost no process;
//! where the library cannot be loaded, by running `nft -f -`. Both take the same text.
//!
//! One libnftables context serves the whole process, on a thread of its own that runs
//! one script at a time (a context is not safe to share between threads); each script
//! is one netlink batch, applied whole or not at all. That thread has a file descriptor
//! table of its own (`unshare(CLONE_FILES)`), emptied: libnftables opens its netlink
//! socket without close-on-exec, and in the process's table an environment's process
//! started meanwhile by another thread would inherit it.

// Unsafe code is allowed here: calling a C library loaded with `dlopen`; each use says
// why it is sound.
#![allow(unsafe_code)]

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::io::{self, Write as _};
use std::process::{Command, Stdio};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Mutex, OnceLock};

type CtxNew = unsafe extern "C" fn(u32) -> *mut c_void;
type CtxFn = unsafe extern "C" fn(*mut c_void) -> c_int;
type GetBuffer = unsafe extern "C" fn(*mut c_void) -> *const c_char;
type RunCmd = unsafe extern "C" fn(*mut c_void, *const c_char) -> c_int;

/// A libnftables context and the functions that use it.
struct Library {
    ctx: *mut c_void,
    run: RunCmd,
    output: GetBuffer,
    error: GetBuffer,
}

/// A script and where its outcome goes.
type Job = (String, SyncSender<io::Result<()>>);

/// The libnftables thread's queue; `None` where the library could not be loaded.
static LIBRARY: OnceLock<Option<Mutex<SyncSender<Job>>>> = OnceLock::new();

/// Looks `name` up in the library `handle`.
///
/// # Safety
/// `T` must be the C function type of the symbol `name`.
unsafe fn symbol<T: Copy>(handle: *mut c_void, name: &CStr) -> Option<T> {
    // SAFETY: `handle` is a live `dlopen` handle and `name` a C string.
    let found = unsafe { libc::dlsym(handle, name.as_ptr()) };
    if found.is_null() {
        return None;
    }
    // SAFETY: a function pointer is pointer-sized; the caller vouches for its type.
    Some(unsafe { std::mem::transmute_copy::<*mut c_void, T>(&found) })
}

/// Loads libnftables and makes a context whose output and errors are buffered.
fn load() -> Option<Library> {
    // SAFETY: a C string; loading libnftables runs only its (and libmnl's, libnftnl's)
    // initialisers, which set up no state that conflicts with ours.
    let handle = unsafe {
        libc::dlopen(
            c"libnftables.so.1".as_ptr(),
            libc::RTLD_NOW | libc::RTLD_LOCAL,
        )
    };
    if handle.is_null() {
        return None;
    }
    // SAFETY: each type is the function's prototype in <nftables/libnftables.h>.
    let (new, buffer_output, buffer_error, run, output, error) = unsafe {
        (
            symbol::<CtxNew>(handle, c"nft_ctx_new")?,
            symbol::<CtxFn>(handle, c"nft_ctx_buffer_output")?,
            symbol::<CtxFn>(handle, c"nft_ctx_buffer_error")?,
            symbol::<RunCmd>(handle, c"nft_run_cmd_from_buffer")?,
            symbol::<GetBuffer>(handle, c"nft_ctx_get_output_buffer")?,
            symbol::<GetBuffer>(handle, c"nft_ctx_get_error_buffer")?,
        )
    };
    // SAFETY: NFT_CTX_DEFAULT (0) is a valid flag set.
    let ctx = unsafe { new(0) };
    if ctx.is_null() {
        return None;
    }
    // SAFETY: `ctx` is a live context.
    let buffered = unsafe { buffer_output(ctx) == 0 && buffer_error(ctx) == 0 };
    if !buffered {
        return None;
    }
    Some(Library {
        ctx,
        run,
        output,
        error,
    })
}

/// Starts the libnftables thread: `None` where it cannot have its own file descriptor
/// table or the library cannot be loaded.
fn start() -> Option<Mutex<SyncSender<Job>>> {
    let (ready_tx, ready_rx) = mpsc::sync_channel::<bool>(1);
    let (jobs_tx, jobs_rx) = mpsc::sync_channel::<Job>(64);
    let spawned = std::thread::Builder::new()
        .name("hearth-nftables".into())
        .spawn(move || {
            let library = private_fd_table().ok().and_then(|()| load());
            let _ = ready_tx.send(library.is_some());
            if let Some(library) = library {
                serve(&library, &jobs_rx);
            }
        });
    match spawned {
        Ok(_) if ready_rx.recv().unwrap_or(false) => Some(Mutex::new(jobs_tx)),
        Ok(_) => None,
        Err(e) => {
            tracing::debug!(error = %e, "no libnftables thread");
            None
        }
    }
}

/// Gives the calling thread a file descriptor table of its own, with only the standard
/// streams in it: what it opens from now on is out of the reach of `fork`s elsewhere in
/// the process, and it holds no other descriptor open behind the process's back.
fn private_fd_table() -> io::Result<()> {
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_FILES)?;
    // SAFETY: closes descriptors of this thread's private table only (unshared above);
    // nothing on this thread holds one of them.
    if unsafe { libc::close_range(3, libc::c_uint::MAX, 0) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Runs the queued scripts until every sender is gone.
fn serve(library: &Library, jobs: &Receiver<Job>) {
    while let Ok((script, reply)) = jobs.recv() {
        let _ = reply.send(run_in_process(library, &script));
    }
}

/// Whether scripts run in-process (else through the `nft` program).
pub fn in_process() -> bool {
    LIBRARY.get_or_init(start).is_some()
}

/// Runs an `nft -f` script: applied whole, or an error with what nftables said.
pub fn run(script: &str) -> io::Result<()> {
    let Some(queue) = LIBRARY.get_or_init(start) else {
        return run_program(script);
    };
    let (reply_tx, reply_rx) = mpsc::sync_channel(1);
    let sent = queue
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .send((script.to_string(), reply_tx));
    if sent.is_err() {
        return Err(io::Error::other("nft: the libnftables thread is gone"));
    }
    reply_rx
        .recv()
        .unwrap_or_else(|_| Err(io::Error::other("nft: the libnftables thread is gone")))
}

fn run_in_process(library: &Library, script: &str) -> io::Result<()> {
    let text = CString::new(script).map_err(io::Error::other)?;
    // SAFETY: the context is live and used by this thread only; `text` is a C string
    // that outlives the call.
    let status = unsafe { (library.run)(library.ctx, text.as_ptr()) };
    // Reading a buffer also empties it for the next script.
    // SAFETY: as above; the buffers are C strings owned by the context, valid until its
    // next use, and copied out before then.
    let said = unsafe {
        let _ = (library.output)(library.ctx);
        let error = (library.error)(library.ctx);
        if error.is_null() {
            String::new()
        } else {
            CStr::from_ptr(error).to_string_lossy().trim().to_string()
        }
    };
    if status == 0 {
        Ok(())
    } else {
        Err(io::Error::other(format!("nft: {said}")))
    }
}

/// Runs `nft -f -` with `script` on its standard input.
fn run_program(script: &str) -> io::Result<()> {
    let mut child = Command::new("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| io::Error::new(e.kind(), format!("nft: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(script.as_bytes())?;
    }
    let out = child.wait_with_output()?;
    if out.status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "nft -f -: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_script_nftables_refuses_is_an_error_with_its_reason() {
        // Refused while parsing, before any change: needs no privilege.
        let e = run("add table inet hearth_test_bad_syntax {\n").expect_err("refused");
        assert!(e.to_string().contains("syntax error"), "{e}");
        // The next script does not see the last one's error.
        let e = run("nonsense\n").expect_err("refused");
        assert!(!e.to_string().contains("hearth_test_bad_syntax"), "{e}");
    }
}
