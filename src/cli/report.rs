//! `minroot report` (and `pack --report`): the root against the layer pack would write,
//! as text or JSON. The numbers come from `crate::sbom::report`; this file renders them.

use std::io::Write;

use anyhow::Result;

use super::args::ReportArgs;
use super::config::{self, HostEnv};
use super::{Status, human};
use crate::job::{self, Goal};
use crate::sbom::report::Report;

pub fn run(args: ReportArgs, env: &HostEnv) -> Result<Status> {
    let job = config::job(
        Goal::Report,
        &args.select,
        &args.bins,
        config::packages(args.no_package_db, args.no_copyright),
        0,
        env,
    )?;
    let outcome = job::run(&job)?;
    let report = outcome
        .report
        .as_ref()
        .expect("a report job makes the report");
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if args.json {
        // A name that is not UTF-8 is shown `\xNN` (`sysroot::name`).
        let text = serde_json::to_string_pretty(report)?;
        writeln!(out, "{}", crate::sysroot::name::json(&text))?;
    } else {
        out.write_all(render(report).as_bytes())?;
    }
    out.flush()?;
    Ok(super::finish(&outcome))
}

/// How many of the root's paths of one attack-surface set the text names.
const ROOT_PATHS_SHOWN: usize = 12;

/// One attack-surface line: the counts, the root's paths on one line (what the layer
/// left out, for a source image), then the layer's, one per line.
fn list(title: &str, root: u64, root_paths: &[String], paths: &[String]) -> String {
    let mut s = format!("  {title:<18} {root:>7} {:>7}\n", paths.len());
    if !root_paths.is_empty() {
        let shown: Vec<&str> = root_paths
            .iter()
            .take(ROOT_PATHS_SHOWN)
            .map(String::as_str)
            .collect();
        let more = root_paths.len() - shown.len();
        s.push_str(&format!("      root: {}", shown.join(" ")));
        if more > 0 {
            s.push_str(&format!(" ... and {more} more (--json lists every one)"));
        }
        s.push('\n');
    }
    for p in paths {
        s.push_str(&format!("      {p}\n"));
    }
    s
}

/// How many files from no package the text lists (a root without a database has
/// hundreds).
const UNOWNED_SHOWN: usize = 30;

/// The report as text.
pub fn render(r: &Report) -> String {
    let mut s = String::new();
    if let Some(i) = &r.image {
        s.push_str(&format!("source image: {i}\n"));
    }
    match &r.database {
        Some(db) => s.push_str(&format!(
            "package database: {db}{}\n",
            r.distro
                .as_deref()
                .map(|d| format!(" ({d})"))
                .unwrap_or_default()
        )),
        None => {
            s.push_str("package database: none in the root (no file is attributed to a package)\n")
        }
    }
    // For an image, its column is the image's (the root it was applied into).
    let source = if r.image.is_some() { "image" } else { "root" };
    s.push_str(&format!("{:<20} {:>7} {:>7}\n", "", source, "layer"));
    s.push_str(&format!(
        "  {:<18} {:>7} {:>7}\n",
        "packages", r.packages.root, r.packages.layer
    ));
    s.push_str(&format!(
        "  {:<18} {:>7} {:>7}\n",
        "files", r.files.root, r.files.layer
    ));
    s.push_str(&format!(
        "  {:<18} {:>7} {:>7}\n",
        "bytes",
        human(r.bytes.root),
        human(r.bytes.layer)
    ));
    s.push_str("attack surface\n");
    let (l, o, op) = (&r.layer_surface, &r.root_surface, &r.root_surface_paths);
    s.push_str(&list("shells", o.shells, &op.shells, &l.shells));
    s.push_str(&list(
        "package managers",
        o.package_managers,
        &op.package_managers,
        &l.package_managers,
    ));
    s.push_str(&list("setuid files", o.setuid, &op.setuid, &l.setuid));
    s.push_str(&list("setgid files", o.setgid, &op.setgid, &l.setgid));
    s.push_str(&list(
        "capabilities",
        o.capabilities,
        &op.capabilities,
        &l.capabilities,
    ));
    if !r.layer_packages.is_empty() {
        s.push_str("packages in the layer\n");
        for p in &r.layer_packages {
            s.push_str(&format!(
                "  {:<28} {:<28} {:<6} {:>4} files {:>10}\n",
                p.name,
                p.version,
                p.arch,
                p.files,
                human(p.bytes)
            ));
        }
    }
    if let Some(p) = &r.probe {
        s.push_str(&format!(
            "added by the probe: {} ({}, {}) beyond the static closure and the runtimes\n",
            super::count(p.entries, "entry", "entries"),
            super::count(p.files, "file", "files"),
            human(p.bytes)
        ));
        if !p.missing.is_empty() {
            s.push_str(&format!(
                "looked for by the probed runs, not in the root: {}\n",
                p.missing.len()
            ));
            for m in p.missing.iter().take(UNOWNED_SHOWN) {
                s.push_str(&format!("  {m}\n"));
            }
            if p.missing.len() > UNOWNED_SHOWN {
                s.push_str(&format!(
                    "  ... and {} more (--json lists every one)\n",
                    p.missing.len() - UNOWNED_SHOWN
                ));
            }
        }
    }
    if !r.unowned.is_empty() {
        s.push_str(&format!("files from no package: {}\n", r.unowned.len()));
        for u in r.unowned.iter().take(UNOWNED_SHOWN) {
            s.push_str(&format!("  {}  ({}; {})\n", u.path, u.why, u.reason));
        }
        if r.unowned.len() > UNOWNED_SHOWN {
            s.push_str(&format!(
                "  ... and {} more (--json lists every one)\n",
                r.unowned.len() - UNOWNED_SHOWN
            ));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sbom::report::{Counts, Surface};

    fn report(image: Option<&str>, root_shells: Vec<String>) -> Report {
        Report {
            database: None,
            distro: None,
            packages: Counts { root: 3, layer: 1 },
            files: Counts { root: 10, layer: 2 },
            bytes: Counts {
                root: 1000,
                layer: 10,
            },
            layer_packages: vec![],
            unowned: vec![],
            layer_surface: Surface {
                shells: vec!["/bin/sh".into()],
                ..Surface::default()
            },
            root_surface: Surface {
                shells: root_shells.len() as u64,
                ..Surface::default()
            },
            root_surface_paths: Surface {
                shells: root_shells,
                ..Surface::default()
            },
            warnings: vec![],
            probe: None,
            image: image.map(String::from),
        }
    }

    #[test]
    fn an_image_report_names_the_image_and_what_its_sets_hold() {
        let t = render(&report(
            Some("app.tar@sha256:ab"),
            vec!["/bin/sh".into(), "/usr/bin/bash".into()],
        ));
        assert!(t.starts_with("source image: app.tar@sha256:ab\n"), "{t}");
        assert!(
            t.contains("\n                       image   layer\n"),
            "{t}"
        );
        assert!(
            t.contains("  shells                   2       1\n      root: /bin/sh /usr/bin/bash\n      /bin/sh\n"),
            "{t}"
        );
        assert!(!t.contains("root: \n"), "empty sets name nothing: {t}");
    }

    #[test]
    fn a_long_set_is_cut_with_a_count() {
        let shells: Vec<String> = (0..20).map(|i| format!("/bin/s{i}")).collect();
        let t = render(&report(None, shells));
        assert!(
            t.contains("\n                        root   layer\n"),
            "{t}"
        );
        assert!(
            t.contains("/bin/s11 ... and 8 more (--json lists every one)\n"),
            "{t}"
        );
        assert!(!t.contains("/bin/s12"), "{t}");
    }
}
