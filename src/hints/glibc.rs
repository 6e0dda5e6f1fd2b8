//! What glibc itself loads at run time without a DT_NEEDED:
//! - NSS service modules (`libnss_<service>.so.2`) for the services nsswitch.conf names;
//!   `files` and `dns` are built into libc since glibc 2.34 and need no module;
//! - gconv modules, their configuration and cache, when a program calls `iconv_open`;
//! - `libgcc_s.so.1`, which glibc dlopens to unwind the stack for `pthread_cancel`,
//!   `pthread_exit` and `backtrace`.

/// Services glibc 2.34+ implements inside libc.
const BUILTIN_SERVICES: &[&str] = &["files", "dns"];

/// Symbols whose use makes glibc dlopen libgcc_s.so.1.
pub const LIBGCC_S_TRIGGERS: &[&str] = &["pthread_cancel", "pthread_exit", "backtrace"];

/// The symbol whose use makes glibc load gconv modules.
pub const GCONV_TRIGGER: &str = "iconv_open";

/// The soname glibc dlopens for unwinding.
pub const LIBGCC_S: &str = "libgcc_s.so.1";

/// The NSS services named in an nsswitch.conf text, in order of first appearance, without
/// the built-in ones. `[NOTFOUND=return]` actions and comments are skipped.
pub fn nss_services(nsswitch: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in nsswitch.lines() {
        let line = line.split('#').next().unwrap_or("");
        let Some((_db, rest)) = line.split_once(':') else {
            continue;
        };
        let mut in_action = false;
        for word in rest.split_whitespace() {
            if word.starts_with('[') {
                in_action = !word.ends_with(']');
                continue;
            }
            if in_action {
                in_action = !word.ends_with(']');
                continue;
            }
            if BUILTIN_SERVICES.contains(&word) || out.iter().any(|s| s == word) {
                continue;
            }
            if word
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                out.push(word.to_string());
            }
        }
    }
    out
}

/// The module file glibc loads for an NSS service.
pub fn nss_module(service: &str) -> String {
    format!("libnss_{service}.so.2")
}

/// glibc's default gconv directory for a `$LIB` (`GCONV_PATH` default: `$libdir/gconv`).
pub fn gconv_dir(lib: &str) -> String {
    format!("/usr/{lib}/gconv")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nss_services_skip_builtin_and_actions() {
        let conf = "passwd: files systemd\ngroup: files [SUCCESS=merge] systemd\nhosts: files mdns4_minimal [NOTFOUND=return] dns myhostname\n# netgroup: nis\nnetgroup: nis\n";
        assert_eq!(
            nss_services(conf),
            ["systemd", "mdns4_minimal", "myhostname", "nis"]
        );
        assert!(nss_services("passwd: files\nhosts: files dns\n").is_empty());
        assert_eq!(nss_module("systemd"), "libnss_systemd.so.2");
    }

    #[test]
    fn gconv_dir_follows_lib() {
        assert_eq!(
            gconv_dir("lib/x86_64-linux-gnu"),
            "/usr/lib/x86_64-linux-gnu/gconv"
        );
        assert_eq!(gconv_dir("lib64"), "/usr/lib64/gconv");
    }
}
