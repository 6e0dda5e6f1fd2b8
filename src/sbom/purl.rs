//! Package URLs (purl) of installed packages, the identifier scanners match on:
//! `pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12&upstream=glibc`.
//!
//! The namespace is the root's distribution (os-release `ID`: debian, ubuntu, alpine,
//! wolfi); without an os-release, `debian` for dpkg and `alpine` for apk. Qualifiers are
//! sorted by key: `arch`, `distro` (`ID-VERSION_ID`) and `upstream` (the source package
//! when it has another name). Percent-encoding follows the purl specification: every
//! byte but ASCII letters, digits, `.`, `-`, `_`, `~` and `:` is encoded, so the `+` of a
//! Debian version is `%2B` (a purl parser that decodes `+` as a space still gets it right).

use super::{Distro, Manager};

/// Percent-encodes one purl component.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"._-~:".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The purl of a package of `manager` installed in a root of `distro`.
pub fn purl(
    manager: Manager,
    distro: &Distro,
    name: &str,
    version: &str,
    arch: &str,
    source: Option<&str>,
) -> String {
    let namespace = distro
        .id
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(str::to_ascii_lowercase)
        .unwrap_or_else(|| match manager {
            Manager::Deb => "debian".into(),
            Manager::Apk => "alpine".into(),
        });
    let mut q: Vec<(&str, String)> = Vec::new();
    if !arch.is_empty() {
        q.push(("arch", arch.to_string()));
    }
    if let Some(v) = distro.version_id.as_deref().filter(|v| !v.is_empty()) {
        q.push(("distro", format!("{namespace}-{v}")));
    }
    if let Some(s) = source.filter(|s| *s != name && !s.is_empty()) {
        q.push(("upstream", s.to_string()));
    }
    let mut s = format!(
        "pkg:{}/{}/{}@{}",
        manager.purl_type(),
        encode(&namespace),
        encode(name),
        encode(version)
    );
    for (i, (k, v)) in q.iter().enumerate() {
        s.push(if i == 0 { '?' } else { '&' });
        s.push_str(k);
        s.push('=');
        s.push_str(&encode(v));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn distro(id: &str, v: &str) -> Distro {
        Distro {
            id: Some(id.into()),
            version_id: Some(v.into()),
            pretty_name: None,
        }
    }

    #[test]
    fn debian_with_plus_epoch_and_upstream() {
        let d = distro("debian", "12");
        assert_eq!(
            purl(
                Manager::Deb,
                &d,
                "libc6",
                "2.36-9+deb12u4",
                "amd64",
                Some("glibc")
            ),
            "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12&upstream=glibc"
        );
        assert_eq!(
            purl(Manager::Deb, &d, "libstdc++6", "1:12.2.0-14", "amd64", None),
            "pkg:deb/debian/libstdc%2B%2B6@1:12.2.0-14?arch=amd64&distro=debian-12"
        );
        assert_eq!(
            purl(
                Manager::Deb,
                &d,
                "tzdata",
                "2024a-0+deb12u1",
                "all",
                Some("tzdata")
            ),
            "pkg:deb/debian/tzdata@2024a-0%2Bdeb12u1?arch=all&distro=debian-12",
            "upstream only when it differs"
        );
    }

    #[test]
    fn ubuntu_alpine_and_no_os_release() {
        assert_eq!(
            purl(
                Manager::Deb,
                &distro("ubuntu", "22.04"),
                "zlib1g",
                "1:1.2.11.dfsg-2ubuntu9",
                "amd64",
                Some("zlib")
            ),
            "pkg:deb/ubuntu/zlib1g@1:1.2.11.dfsg-2ubuntu9?arch=amd64&distro=ubuntu-22.04&upstream=zlib"
        );
        assert_eq!(
            purl(
                Manager::Apk,
                &distro("alpine", "3.19.1"),
                "musl",
                "1.2.4_git20230717-r4",
                "x86_64",
                None
            ),
            "pkg:apk/alpine/musl@1.2.4_git20230717-r4?arch=x86_64&distro=alpine-3.19.1"
        );
        assert_eq!(
            purl(
                Manager::Apk,
                &Distro::default(),
                "musl",
                "1.2.4-r2",
                "",
                None
            ),
            "pkg:apk/alpine/musl@1.2.4-r2"
        );
        assert_eq!(
            purl(Manager::Deb, &Distro::default(), "a", "1", "amd64", None),
            "pkg:deb/debian/a@1?arch=amd64"
        );
    }
}
