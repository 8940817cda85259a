//! Running as the `postgres` system user: `initdb` and `postgres` refuse root, so a harness
//! running as root starts them under that account instead.

use std::ffi::CString;
use std::io;

use super::error::LocalError;

/// System account that runs `initdb` and `postgres` when the harness runs as root.
const SERVER_ACCOUNT: &str = "postgres";

#[derive(Debug, Clone, Copy)]
pub(super) struct Account {
    pub(super) uid: u32,
    pub(super) gid: u32,
}

/// The account to run `initdb` and `postgres` as: `None` to stay as we are, the `postgres`
/// system user when we are root (both programs refuse to run as root).
pub(super) fn server_account() -> Result<Option<Account>, LocalError> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(None);
    }
    match lookup_account(SERVER_ACCOUNT) {
        Ok(Some(account)) => Ok(Some(account)),
        Ok(None) => Err(LocalError::NoServerAccount),
        Err(error) => Err(LocalError::AccountLookup { error }),
    }
}

fn lookup_account(name: &str) -> io::Result<Option<Account>> {
    let name = CString::new(name)?;
    let mut buffer = vec![0_u8; 4096];
    loop {
        // SAFETY: all-zero bytes are a valid `passwd` (null pointers, zero ids).
        let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: every pointer is valid for the duration of the call and the buffer length is
        // passed; getpwnam_r (unlike getpwnam) uses no shared static storage.
        let rc = unsafe { libc::getpwnam_r(name.as_ptr(), &mut entry, buffer.as_mut_ptr().cast(), buffer.len(), &mut result) };
        if rc == libc::ERANGE && buffer.len() < 1 << 20 {
            buffer.resize(buffer.len() * 2, 0);
            continue;
        }
        if rc != 0 {
            return Err(io::Error::from_raw_os_error(rc));
        }
        return Ok((!result.is_null()).then_some(Account { uid: entry.pw_uid, gid: entry.pw_gid }));
    }
}
