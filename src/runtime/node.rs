//! Node.js: the builtins a distribution moved out of the binary, found by the paths the
//! runtime library names.
//!
//! Node's standard library (`fs`, `crypto`, `internal/...`) is JavaScript compiled into
//! the binary, so a stock node needs no file of its own. Node's build can *externalize*
//! some of its dependencies instead (`configure --shared-builtin-<id>-path=PATH`, the C
//! macros `NODE_SHARED_BUILTIN_<ID>_PATH`): Debian does, for cjs-module-lexer, undici,
//! acorn and acorn-walk, which its node-* packages ship under `/usr/share/nodejs`. The
//! builtin loader reads every one of them by that absolute path when it starts
//! (`BuiltinLoader::AddExternalizedBuiltin`), and aborts with `Cannot load externalized
//! builtin: "ID:PATH"` when one is missing: `node -e 1` does not start without them.
//!
//! The paths are found as the build recorded them: node embeds its `config.gypi`
//! (`process.config`), whose `defines` list every `NODE_SHARED_BUILTIN_<ID>_PATH=PATH`;
//! the bytes searched are `libnode.so`'s when the program links it (Debian's
//! `/usr/bin/node` is a 26 KB stub over `libnode.so.108`), else the program's. Each file
//! is taken alone: it is compiled as a builtin, whose `require` is the internal loader's
//! and loads builtins only, never a file beside it (undici's bundle asks for
//! `./llhttp/llhttp_simd.wasm.js` inside a `try`, and falls back to the copy it carries).
//!
//! Not taken, because they are not the runtime but what a program chooses to load:
//!
//! - the global module directories, `$PREFIX/lib/node` or the build's `node_relative_path`
//!   (Debian: `/usr/lib/<triplet>/nodejs` and `/usr/share/nodejs`), where Debian's node-*
//!   packages live. `require('acorn')` looks there only after every `node_modules` up from
//!   the script; what a script finds there is its own dependency, like any module of an
//!   app (`--include /usr/share/nodejs/NAME`, or `minroot probe`). Taking them would also
//!   take every node-* package of the root (`@types` alone is 4 MB here).
//! - ICU's data: Debian's node uses the system ICU, whose data is the library
//!   `libicudata.so.72` (ELF, traced); ICU also tries `/usr/share/zoneinfo-icu` for newer
//!   time-zone data, optionally.
//!
//! `NODE_PATH` is taken when it is set in the image's environment: each absolute
//! directory in it that exists, whole (the user chose those for every script).

use super::{Found, Located, NotFound, Take, is_dir, is_file, parent};
use crate::sysroot::Root;

/// How a build records an externalized builtin in its embedded `config.gypi`.
const DEFINE: &[u8] = b"NODE_SHARED_BUILTIN_";

/// A define longer than this is not one (a path and its macro name).
const MAX_DEFINE: usize = 4096;

/// Finds the externalized builtins (see the module doc).
pub fn locate(root: &Root, found: &Found) -> Result<Located, NotFound> {
    let runtime = found.library.as_deref().unwrap_or(&found.real);
    // Mapped, not copied (libnode.so.108 is 47 MB); unreadable reads as empty.
    let file = root.read_canonical(runtime).ok();
    let bytes: &[u8] = file.as_deref().unwrap_or_default();
    let builtins = externalized(bytes);
    let missing: Vec<String> = builtins
        .iter()
        .filter(|(_, p)| !is_file(root, p))
        .map(|(_, p)| p.clone())
        .collect();
    if !missing.is_empty() {
        let ids: Vec<&str> = builtins
            .iter()
            .filter(|(_, p)| missing.contains(p))
            .map(|(id, _)| id.as_str())
            .collect();
        return Err(NotFound {
            looked_for: missing,
            hint: format!(
                "{runtime} reads its externalized builtins ({}) when it starts and aborts without them: install the packages that ship them in the root (Debian's nodejs depends on them: node-acorn, node-cjs-module-lexer, node-undici), or --include them",
                ids.join(", ")
            ),
        });
    }
    let mut take: Vec<Take> = builtins.into_iter().map(|(_, p)| Take::all(p)).collect();
    for d in found
        .env("NODE_PATH")
        .unwrap_or("")
        .split(':')
        .filter(|d| d.starts_with('/'))
    {
        if is_dir(root, d) && !take.iter().any(|t| t.path == d) {
            take.push(Take::all(d));
        }
    }
    Ok(Located {
        // process.execPath/../..: the prefix node derives its global paths from.
        home: parent(parent(&found.real)).to_string(),
        found_by: runtime.to_string(),
        take,
        generated: Vec::new(),
    })
}

/// The externalized builtins a build records: (`CJS_MODULE_LEXER_LEXER`, its path), in
/// the order of the bytes, each path once. A define is
/// `NODE_SHARED_BUILTIN_<ID>_PATH=<absolute path>`, ended by the JSON string's `"` (or a
/// NUL, for a compiler's copy of the macro).
fn externalized(bytes: &[u8]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for at in memchr::memmem::find_iter(bytes, DEFINE) {
        let rest = &bytes[at + DEFINE.len()..];
        let end = rest
            .iter()
            .take(MAX_DEFINE)
            .position(|&b| b == b'"' || b == 0 || !(0x20..0x7f).contains(&b));
        let Some(end) = end else { continue };
        // Printable ASCII: always UTF-8.
        let define = String::from_utf8_lossy(&rest[..end]);
        let Some((name, path)) = define.split_once('=') else {
            continue;
        };
        let Some(id) = name.strip_suffix("_PATH") else {
            continue;
        };
        if id.is_empty() || !path.starts_with('/') || path.contains("//") {
            continue;
        }
        if !out.iter().any(|(_, p)| p == path) {
            out.push((id.to_string(), path.to_string()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What Debian's libnode.so.108 embeds (its config.gypi, abridged).
    const CONFIG: &[u8] = b"junk\0{ \"target_defaults\": {\"cflags\": [], \"defines\": [\"NODE_OPENSSL_CONF_NAME=nodejs_conf\", \"NODE_SHARED_BUILTIN_CJS_MODULE_LEXER_LEXER_PATH=/usr/share/nodejs/cjs-module-lexer/lexer.js\", \"NODE_SHARED_BUILTIN_CJS_MODULE_LEXER_DIST_LEXER_PATH=/usr/share/nodejs/cjs-module-lexer/dist/lexer.js\", \"NODE_SHARED_BUILTIN_UNDICI_UNDICI_PATH=/usr/share/nodejs/undici/undici-fetch.js\", \"NODE_SHARED_BUILTIN_ACORN_PATH=/usr/share/nodejs/acorn/dist/acorn.js\"]}}\0NODE_SHARED_BUILTIN_ACORN_PATH=/usr/share/nodejs/acorn/dist/acorn.js\0NODE_SHARED_BUILTIN_\0NODE_SHARED_BUILTIN_X_PATH=relative\0";

    fn root_with(files: &[(&str, &[u8])]) -> (tempfile::TempDir, Root) {
        let t = tempfile::tempdir().unwrap();
        for (p, bytes) in files {
            let h = t.path().join(&p[1..]);
            std::fs::create_dir_all(h.parent().unwrap()).unwrap();
            std::fs::write(h, bytes).unwrap();
        }
        let r = Root::new(t.path()).unwrap();
        (t, r)
    }

    fn found(env: &[&str]) -> Found {
        Found {
            program: "/usr/bin/nodejs".into(),
            real: "/usr/bin/node".into(),
            library: Some("/usr/lib/x86_64-linux-gnu/libnode.so.108".into()),
            env: env.iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn defines_of_the_embedded_config() {
        let e = externalized(CONFIG);
        assert_eq!(
            e,
            vec![
                (
                    "CJS_MODULE_LEXER_LEXER".to_string(),
                    "/usr/share/nodejs/cjs-module-lexer/lexer.js".to_string()
                ),
                (
                    "CJS_MODULE_LEXER_DIST_LEXER".into(),
                    "/usr/share/nodejs/cjs-module-lexer/dist/lexer.js".into()
                ),
                (
                    "UNDICI_UNDICI".into(),
                    "/usr/share/nodejs/undici/undici-fetch.js".into()
                ),
                (
                    "ACORN".into(),
                    "/usr/share/nodejs/acorn/dist/acorn.js".into()
                ),
            ]
        );
        assert!(externalized(b"a stock node: nothing externalized").is_empty());
    }

    #[test]
    fn takes_each_builtin_alone_and_node_path() {
        let (_t, root) = root_with(&[
            ("/usr/lib/x86_64-linux-gnu/libnode.so.108", CONFIG),
            ("/usr/share/nodejs/cjs-module-lexer/lexer.js", b""),
            ("/usr/share/nodejs/cjs-module-lexer/dist/lexer.js", b""),
            ("/usr/share/nodejs/undici/undici-fetch.js", b""),
            ("/usr/share/nodejs/acorn/dist/acorn.js", b""),
            ("/app/modules/x/index.js", b""),
        ]);
        let l = locate(&root, &found(&["NODE_PATH=/app/modules:/missing:rel"])).unwrap();
        assert_eq!(l.home, "/usr");
        assert_eq!(l.found_by, "/usr/lib/x86_64-linux-gnu/libnode.so.108");
        let paths: Vec<&str> = l.take.iter().map(|t| t.path.as_str()).collect();
        assert_eq!(
            paths,
            vec![
                "/usr/share/nodejs/cjs-module-lexer/lexer.js",
                "/usr/share/nodejs/cjs-module-lexer/dist/lexer.js",
                "/usr/share/nodejs/undici/undici-fetch.js",
                "/usr/share/nodejs/acorn/dist/acorn.js",
                "/app/modules",
            ]
        );
        assert!(l.take.iter().all(|t| t.skip.is_empty()));
    }

    #[test]
    fn a_missing_builtin_is_not_found() {
        let (_t, root) = root_with(&[
            ("/usr/lib/x86_64-linux-gnu/libnode.so.108", CONFIG),
            ("/usr/share/nodejs/acorn/dist/acorn.js", b""),
        ]);
        let e = locate(&root, &found(&[])).unwrap_err();
        assert_eq!(e.looked_for.len(), 3, "{e:?}");
        assert!(
            e.looked_for
                .contains(&"/usr/share/nodejs/undici/undici-fetch.js".to_string())
        );
        assert!(
            e.hint.contains("UNDICI_UNDICI") && !e.hint.contains("ACORN,"),
            "{}",
            e.hint
        );
    }

    #[test]
    fn a_stock_node_needs_nothing() {
        let (_t, root) = root_with(&[("/usr/local/bin/node", b"\x7fELF _ZN4node5StartEiPPc")]);
        let f = Found {
            program: "/usr/local/bin/node".into(),
            real: "/usr/local/bin/node".into(),
            library: None,
            env: vec![],
        };
        let l = locate(&root, &f).unwrap();
        assert!(l.take.is_empty());
        assert_eq!(l.home, "/usr/local");
    }
}
