//! The command line as typed: clap definitions only. Nothing here reads the environment,
//! touches the file system or decides policy; `config.rs` turns these into a validated
//! configuration.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "minroot",
    version,
    about = "Build the smallest root filesystem that runs a program",
    long_about = "minroot predicts exactly what the glibc loader loads for a program (without running it), \
adds what the program loads at run time, and writes the minimal file set as a reproducible layer.\n\n\
Exit status: 0 when everything was found, 1 when the closure is incomplete (a library is missing), 2 on an error \
(bad input, an option that cannot act on this command line, a failed write). A closed output pipe \
(`minroot files X | head -1`) ends any command quietly with status 0, as ripgrep does.",
    after_help = "Examples:\n  minroot trace /usr/bin/curl\n  minroot trace --root ./arm64-root --format list /usr/bin/python3\n  minroot pack -o curl.tar /usr/bin/curl                 # FROM scratch + ADD curl.tar /\n  minroot pack --oci out/ --tag curl:8 --sbom curl.spdx.json /usr/bin/curl\n  minroot check image.tar.gz"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// No progress bars (they are only drawn on a terminal's stderr, for work over a second)
    #[arg(long, global = true)]
    pub quiet: bool,
}

// Deferred: the arguments of a subcommand are defined only when it is the one run (or
// its help is shown). Defining all eight subcommands' arguments took about a tenth of
// `minroot trace /bin/true`. A deferred subcommand's arguments are added after its own
// about, so the structs flattened into it carry plain comments, not doc comments: a doc
// comment would become the subcommand's about (tests/cli_contract.rs checks).
#[derive(Subcommand, Debug)]
#[command(defer = true)]
pub enum Command {
    /// Show what the glibc loader loads for each program, and why (like ldd, libtree, lddtree)
    #[command(
        after_help = "Examples:\n  minroot trace /usr/bin/ffmpeg\n  minroot trace --root /srv/rootfs --cpu-level x86-64-v3 /usr/sbin/nginx\n  minroot trace --format list /usr/bin/curl /usr/bin/git\n  minroot trace --library-path '$ORIGIN/../lib' ./build/app\n\n\
Exit status: 0 all found (or static), 1 a library or the interpreter is missing, 2 an error (unreadable or non-ELF program, bad root)."
    )]
    Trace(Box<TraceArgs>),
    /// List every path the layer would hold, with the reason it is there
    #[command(
        after_help = "Examples:\n  minroot files /usr/bin/curl\n  minroot files --root ./rootfs --include /usr/lib/python3.11 --format json /usr/bin/python3.11\n\n\
Exit status: 0 complete, 1 something is missing (a library, an interpreter, a required dlopen), 2 an error."
    )]
    Files(Box<FilesArgs>),
    /// Write the minimal layer that runs the programs (tar, tar.gz or tar.zst)
    #[command(
        after_help = "Examples:\n  minroot pack -o layer.tar /usr/bin/curl\n  minroot pack --root ./rootfs -o nginx.tar.gz --include /etc/nginx /usr/sbin/nginx\n  minroot pack -o py.tar.zst --include /usr/lib/python3.11 /usr/bin/python3\n  minroot pack -o nginx.tar --sbom nginx.spdx.json --sbom nginx.cdx.json --report --include /etc/nginx /usr/sbin/nginx\n\n\
Then: printf 'FROM scratch\\nADD layer.tar /\\n' > Dockerfile, or `podman import layer.tar`.\n\
-o names a .tar, .tar.gz/.tgz or .tar.zst/.tzst (the suffix chooses the compression), or - for the plain tar\n\
on standard output (the bytes of -o layer.tar; the summary then goes to stderr), never onto an input or into the root.\n\
Image options (--entrypoint, --cmd, --user, --workdir, --label) need --oci, --oci-archive or --dockerfile;\n\
--tag, --dev and --compression need --oci or --oci-archive: given without, they are an error (--env, which also\n\
steers what the runtimes' files are, is a warning).\n\
Exit status: 0 written, 1 something is missing: nothing is written, unless --allow-missing (then it is\n\
written and the status is still 1), 2 an error (nothing written)."
    )]
    Pack(Box<PackArgs>),
    /// Build a multi-platform OCI image from a spec file (one root per platform)
    #[command(
        after_help = "Example minroot.toml:\n  bins = [\"/usr/bin/curl\"]\n  [image]\n  tag = \"curl:8\"\n  [[platform]]\n  name = \"linux/amd64\"\n  root = \"roots/amd64\"\n  [[platform]]\n  name = \"linux/arm64\"\n  root = \"roots/arm64\"\n\n  minroot build minroot.toml --oci out/\n  skopeo copy --all oci:out/:curl:8 docker://registry.example/curl:8\n\n\
Prints each platform's manifest digest and, with several platforms, the index digest each tag names.\n\
Keys: bins, include, dlopen, dlopen_priority, data, no_base, strip_setuid, gconv, runtime, chown, source_date_epoch,\n\
compression (gzip|zstd|none), dev, package_db, copyright, [image] tag/entrypoint/cmd/env/user/workdir/labels,\n\
[[platform]] name/root/cpu_level/library_path. Roots are relative to the spec file.\n\
Exit status: 0 written, 1 a platform's closure is incomplete: nothing is written, unless --allow-missing\n\
(then it is written and the status is still 1), 2 an error (nothing written)."
    )]
    Build(Box<BuildArgs>),
    /// Compare the root with the layer pack would write: packages, files, bytes, shells,
    /// package managers, setuid/setgid files and capabilities
    #[command(
        after_help = "Examples:\n  minroot report --root ./rootfs --include /etc/nginx /usr/sbin/nginx\n  minroot report --json /usr/bin/curl > report.json\n  minroot report --root app.docker.tar            # an image against its minimised self\n\n\
Packages come from the root's dpkg or apk database; a file no package lists is reported with why it is there.\n\
With an image root (--root IMAGE), the source column is the image (named NAME@DIGEST) and the layer is what\n\
pack --root IMAGE would write for its Entrypoint.\n\
Attack surface, the same sets for both sides: shells are files or symlinks named sh, bash, rbash, dash, ash, zsh,\n\
ksh, ksh93, mksh, pdksh, csh, tcsh, fish, yash, busybox or toybox in a bin or sbin directory; package managers\n\
likewise named dpkg, dpkg-deb, dpkg-query, apt, apt-get, apt-cache, aptitude, apk, rpm, yum, dnf, microdnf, tdnf,\n\
zypper, pacman, pip, pip3, pipX.Y, pipx, easy_install, gem, npm or yarn; setuid/setgid files are regular files\n\
with mode bit 04000/02000; capabilities, files with a security.capability attribute. Directory symlinks are not\n\
followed (/bin/sh through /bin -> usr/bin is not counted twice). The text names the root's paths of each set;\n\
--json has them in root_surface_paths (counts in root_surface, the layer's paths in layer_surface).\n\
Exit status: 0 complete, 1 something is missing (a library, an interpreter, a required dlopen; the\n\
report is printed all the same), 2 an error."
    )]
    Report(Box<ReportArgs>),
    /// Report what would fail to load in an image (a directory, a layer tar, an OCI layout or archive), without running it
    #[command(
        after_help = "Examples:\n  minroot check ./rootfs\n  minroot check layer.tar.gz\n  minroot check --json oci-dir/ > findings.json\n  minroot check --platform linux/arm64 image.oci.tar\n\n\
Findings: missing_interpreter, missing_library, loader_error, wrong_class_or_machine,\n\
bad_elf, dangling_symlink, escaping_symlink, symlink_loop, gconv_missing,\n\
nss_module_missing, ca_bundle_missing, unreadable. Notes (an absent NSS module, a symlink\n\
into /proc, /sys, /dev or /run, an unreadable entry) only count with --strict.\n\
Exit status: 0 clean (notes only), 1 errors found (any finding with --strict),\n\
2 the target cannot be read."
    )]
    Check(Box<CheckArgs>),
    /// Write a relocatable bundle (a directory or .tar.gz) that runs the programs on another Linux
    #[command(
        after_help = "Examples:\n  minroot bundle -o curl-bundle /usr/bin/curl\n  minroot bundle -o py.tar.gz --include /usr/lib/python3.11 /usr/bin/python3 /usr/bin/curl\n  minroot bundle --root ./arm64-root -o app-arm64.tar.gz /usr/bin/app\n\n\
Layout: OUT/bin/<prog> (a /bin/sh launcher), OUT/libexec/ (programs and the loader),\n\
OUT/lib/..., OUT/share/..., OUT/etc/... (the root's /usr/X becomes OUT/X). A .tar.gz\n\
holds one folder, named after the file (or --name). Run OUT/bin/<prog> from anywhere: it\n\
starts the bundled loader with --library-path and --argv0 (never LD_LIBRARY_PATH) and\n\
puts OUT/bin first in PATH for the programs' children.\n\
Exit status: 0 written, 1 nothing written because something is missing, 2 an error."
    )]
    Bundle(Box<BundleArgs>),
    /// Run a program once inside the root and record every path it touches (for pack --probe)
    #[command(
        after_help = "Examples:\n  minroot probe --root ./rootfs -o app.probe.json -- /usr/bin/python3 /app/main.py\n  minroot probe --root ./rootfs -o nginx.probe.json --timeout 5 -- /usr/sbin/nginx -g 'daemon off;'\n  minroot pack --root ./rootfs --probe app.probe.json -o app.tar\n\n\
The program runs with the root at /, a private /tmp, a minimal /dev and /proc, no network\n\
(unless --network) and only the environment given (PATH and SSL_CERT_FILE as in pack's\n\
images, then --env). The root is never written: the run writes into a private overlay.\n\
An aarch64 root runs under the host's qemu-user. The record (JSON, sorted, no timestamps)\n\
lists the paths executed, opened, listed, checked and created, the symlinks followed and\n\
the paths looked for but missing.\n\
Exit status: 0 the record was written (whatever the program's own status, which is\n\
recorded and printed), 2 an error (no such program, the run could not be set up)."
    )]
    Probe(Box<ProbeArgs>),
}

#[derive(Args, Debug)]
pub struct ProbeArgs {
    /// The root to run in (a sysroot or an image; the program sees it as /)
    #[arg(long, value_name = "DIR|IMAGE", default_value = "/")]
    pub root: PathBuf,
    /// The platform to take from a multi-platform image: linux/amd64 or linux/arm64
    #[arg(long, value_name = "OS/ARCH")]
    pub platform: Option<String>,
    /// Most bytes an image root may unpack to (K, M, G, T suffixes) [default: 16G]; for
    /// an image root only
    #[arg(long, value_name = "SIZE")]
    pub max_image_size: Option<String>,
    /// Where the record goes (JSON)
    #[arg(long, short = 'o', value_name = "RECORD.json", required = true)]
    pub output: PathBuf,
    /// Stop the program after SECONDS (SIGTERM, then SIGKILL 5 s later); the record is
    /// still written, with how the run ended
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<f64>,
    /// Environment KEY=VALUE for the run (PATH and SSL_CERT_FILE are set by default, or
    /// an image's Env). Repeatable
    #[arg(long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Working directory inside the root (default: /, or an image's WorkingDir)
    #[arg(long, value_name = "DIR")]
    pub workdir: Option<String>,
    // The help is an attribute, not a doc comment: rustdoc would read `[:GID]` as a link.
    #[arg(
        long,
        value_name = "USER[:GROUP]",
        help = "Run as UID[:GID] (numeric, or names of the root's /etc/passwd and /etc/group; default: root, or an image's User)"
    )]
    pub user: Option<String>,
    /// Give the run the host's network (default: none, only loopback)
    #[arg(long)]
    pub network: bool,
    /// Most processes the run may start (more get EAGAIN: a fork bomb stays bounded)
    #[arg(long, value_name = "N", default_value_t = 4096)]
    pub max_processes: u64,
    /// Print the record's summary as JSON
    #[arg(long)]
    pub json: bool,
    /// The program and its arguments (after --); with an image root, by default the
    /// image's Entrypoint and Cmd, with its Env, WorkingDir and User
    #[arg(last = true, value_name = "PROG")]
    pub command: Vec<String>,
}

// Options shared by every command that traces programs.
#[derive(Args, Debug, Clone)]
pub struct RootArgs {
    /// The root: a directory (a sysroot, an unpacked image, a debootstrap tree), or an
    /// image: an OCI layout directory, an OCI archive or a docker-archive (podman/docker
    /// save), applied into a private temporary root. Every path is inside it
    #[arg(long, value_name = "DIR|IMAGE", default_value = "/")]
    pub root: PathBuf,
    /// The platform to take from a multi-platform image: linux/amd64 or linux/arm64
    /// (default: the host's, else the only one)
    #[arg(long, value_name = "OS/ARCH")]
    pub platform: Option<String>,
    /// Most bytes an image root may unpack to (K, M, G, T suffixes) [default: 16G]; for
    /// an image root only
    #[arg(long, value_name = "SIZE")]
    pub max_image_size: Option<String>,
    /// Plays LD_LIBRARY_PATH (colon-separated; the environment is never read)
    #[arg(long, value_name = "DIRS")]
    pub library_path: Option<String>,
    /// CPU level for glibc-hwcaps subdirectories: baseline, x86-64-v2, x86-64-v3, x86-64-v4
    /// (aarch64: baseline, atomics). Default: the host CPU when the root's architecture is
    /// the host's, else baseline
    #[arg(long, value_name = "LEVEL")]
    pub cpu_level: Option<String>,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceFormat {
    /// A tree with the reason each library was found where it was
    Tree,
    /// `NAME => PATH` lines in load order, each object once
    List,
    /// Everything, for machines
    Json,
}

#[derive(Args, Debug)]
pub struct TraceArgs {
    #[command(flatten)]
    pub root: RootArgs,
    /// Output format
    #[arg(long, short = 'f', value_enum, default_value = "tree")]
    pub format: TraceFormat,
    /// Tree: also show dependencies that were already loaded
    #[arg(long, short = 'a')]
    pub all: bool,
    /// Tree: show the directories searched for missing libraries
    #[arg(long, short = 'v')]
    pub verbose: bool,
    /// Programs to trace (paths inside the root)
    #[arg(required = true, value_name = "BIN")]
    pub bins: Vec<String>,
}

// What is traced besides the programs (shared by pack, files, report and bundle).
#[derive(Args, Debug, Clone)]
pub struct ClosureArgs {
    #[command(flatten)]
    pub root: RootArgs,
    /// Also take this path of the root: a file, a symlink (with its target) or a directory
    /// (recursively); every ELF inside is traced too. Repeatable
    #[arg(long = "include", short = 'i', value_name = "PATH")]
    pub includes: Vec<String>,
    /// Also load this library as the first program would dlopen it. Repeatable
    #[arg(long = "dlopen", value_name = "SONAME")]
    pub dlopens: Vec<String>,
    /// Take .note.dlopen entries up to this priority: required, recommended, suggested
    #[arg(long, value_name = "PRIORITY", default_value = "recommended")]
    pub dlopen_priority: String,
    /// Do not add gconv modules for programs that use iconv_open
    #[arg(long)]
    pub no_gconv: bool,
    /// Add opt-in data: tzdata, C.utf8. Repeatable
    #[arg(long = "data", value_name = "SET")]
    pub data: Vec<String>,
    /// Do not add the files of language runtimes (CPython's standard library, Perl's @INC,
    /// Node.js's builtins, the JVM's home): only what the loader loads
    #[arg(long)]
    pub no_runtime: bool,
    /// Also take what an observed run touched (a record of `minroot probe`); its programs
    /// are traced too, and BIN may then be left out. Repeatable (records merge)
    #[arg(long = "probe", value_name = "RECORD.json")]
    pub probes: Vec<PathBuf>,
}

// What goes into the layer besides the programs.
#[derive(Args, Debug, Clone)]
pub struct SelectArgs {
    #[command(flatten)]
    pub closure: ClosureArgs,
    /// Leave out the base files (passwd, group, nsswitch.conf, CA bundle, /tmp, homes,
    /// os-release), for a layer that goes on top of another base
    #[arg(long)]
    pub no_base: bool,
    /// Clear setuid and setgid bits
    #[arg(long)]
    pub strip_setuid: bool,
    /// Give every entry this owner (numeric UID:GID) instead of the root's owners
    #[arg(long, value_name = "UID:GID")]
    pub chown: Option<String>,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FilesFormat {
    /// One path per line, sorted, with its reason
    List,
    /// Full records
    Json,
}

#[derive(Args, Debug)]
pub struct FilesArgs {
    #[command(flatten)]
    pub select: SelectArgs,
    /// Output format
    #[arg(long, short = 'f', value_enum, default_value = "list")]
    pub format: FilesFormat,
    /// As pack --no-package-db: without the package database entries
    #[arg(long)]
    pub no_package_db: bool,
    /// As pack --no-copyright: without the packages' copyright files
    #[arg(long)]
    pub no_copyright: bool,
    /// Programs (paths inside the root; a #! script brings its interpreter; optional with --probe or an image root: its Entrypoint)
    #[arg(value_name = "BIN")]
    pub bins: Vec<String>,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompressionArg {
    Gzip,
    Zstd,
    None,
}

// The image's run-time configuration and name (OCI outputs and --dockerfile).
#[derive(Args, Debug, Clone, Default)]
pub struct ImageArgs {
    /// ENTRYPOINT, one argument per use (default: the first BIN)
    #[arg(long = "entrypoint", value_name = "ARG", allow_hyphen_values = true)]
    pub entrypoint: Vec<String>,
    /// CMD, one argument per use
    #[arg(long = "cmd", value_name = "ARG", allow_hyphen_values = true)]
    pub cmd: Vec<String>,
    /// Environment KEY=VALUE (PATH and SSL_CERT_FILE are set by default). Repeatable
    #[arg(long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// User to run as (default 65532, distroless's nonroot)
    #[arg(long, value_name = "USER")]
    pub user: Option<String>,
    /// Working directory
    #[arg(long, value_name = "DIR")]
    pub workdir: Option<String>,
    /// Label KEY=VALUE. Repeatable
    #[arg(long = "label", value_name = "KEY=VALUE")]
    pub labels: Vec<String>,
    // An attribute, not a doc comment: rustdoc would read `<first BIN>` as an HTML tag.
    #[arg(
        long,
        value_name = "NAME:TAG",
        help = "Image name NAME:TAG (org.opencontainers.image.ref.name; default: <first BIN>:latest)"
    )]
    pub tag: Option<String>,
    /// Add a -dev image: a second layer with a shell and basic tools (busybox or coreutils
    /// from the root) on top of the same production layer
    #[arg(long)]
    pub dev: bool,
}

#[derive(Args, Debug)]
pub struct PackArgs {
    #[command(flatten)]
    pub select: SelectArgs,
    #[command(flatten)]
    pub image: ImageArgs,
    /// Output layer: .tar, .tar.gz/.tgz (gzip) or .tar.zst/.tzst (zstd); - writes the
    /// plain tar to standard output (not a terminal)
    #[arg(long, short = 'o', value_name = "OUT")]
    pub output: Option<PathBuf>,
    /// Output an OCI image layout directory
    #[arg(long, value_name = "DIR")]
    pub oci: Option<PathBuf>,
    /// Output an OCI layout as one tar (with Docker's manifest.json: podman/docker load)
    #[arg(long, value_name = "FILE")]
    pub oci_archive: Option<PathBuf>,
    /// Output the unpacked tree (for COPY --from=build /rootfs/ /)
    #[arg(long, value_name = "DIR")]
    pub rootfs: Option<PathBuf>,
    /// Output DIR/Dockerfile (FROM scratch, ADD layer.tar /, USER, ENV, ENTRYPOINT) and DIR/layer.tar
    #[arg(long, value_name = "DIR")]
    pub dockerfile: Option<PathBuf>,
    /// Layer compression in OCI outputs (--oci, --oci-archive) [default: gzip]; -o takes
    /// its compression from its name
    #[arg(long, value_enum)]
    pub compression: Option<CompressionArg>,
    /// mtime of every entry (default: $SOURCE_DATE_EPOCH, else 0)
    #[arg(long, value_name = "SECONDS")]
    pub source_date_epoch: Option<String>,
    /// Write the layer even if libraries are missing
    #[arg(long)]
    pub allow_missing: bool,
    /// Print the summary as JSON
    #[arg(long)]
    pub json: bool,
    /// Also write an SBOM of the layer: FILE.spdx.json (SPDX 2.3) or FILE.cdx.json
    /// (CycloneDX 1.5), with the package, version and digests of every file. Repeatable
    #[arg(long = "sbom", value_name = "FILE")]
    pub sboms: Vec<PathBuf>,
    /// Leave out the package database entries (/var/lib/dpkg/status.d/PKG, apk's
    /// installed) that let scanners find the layer's packages
    #[arg(long)]
    pub no_package_db: bool,
    /// Leave out the copyright files (/usr/share/doc/PKG/copyright) of the layer's packages
    #[arg(long)]
    pub no_copyright: bool,
    /// Also print the reduction report (as `minroot report`)
    #[arg(long)]
    pub report: bool,
    /// Programs (paths inside the root; a #! script brings its interpreter; optional with --probe or an image root: its Entrypoint)
    #[arg(value_name = "BIN")]
    pub bins: Vec<String>,
}

#[derive(Args, Debug)]
pub struct ReportArgs {
    #[command(flatten)]
    pub select: SelectArgs,
    /// Print the report as JSON
    #[arg(long)]
    pub json: bool,
    /// As pack --no-package-db: the layer without package database entries
    #[arg(long)]
    pub no_package_db: bool,
    /// As pack --no-copyright: the layer without copyright files
    #[arg(long)]
    pub no_copyright: bool,
    /// Programs (paths inside the root; a #! script brings its interpreter; optional with --probe or an image root: its Entrypoint)
    #[arg(value_name = "BIN")]
    pub bins: Vec<String>,
}

#[derive(Args, Debug)]
pub struct BuildArgs {
    /// The spec file (TOML)
    #[arg(value_name = "SPEC")]
    pub spec: PathBuf,
    /// Output an OCI image layout directory (an index with one manifest per platform)
    #[arg(long, value_name = "DIR")]
    pub oci: Option<PathBuf>,
    /// Output the OCI layout as one tar
    #[arg(long, value_name = "FILE")]
    pub oci_archive: Option<PathBuf>,
    /// Write even if libraries are missing
    #[arg(long)]
    pub allow_missing: bool,
    /// Print what was written as JSON: per platform and tag, the manifest, config and
    /// layer digests, and with several platforms the digest of the index the tag names
    /// (what a registry holds under the tag after `skopeo copy --all`)
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// The image: a directory, a layer tar (.tar, .tar.gz, .tar.zst), or an OCI layout
    /// directory or archive (podman save --format oci-archive, docker save)
    #[arg(value_name = "TARGET")]
    pub target: PathBuf,
    /// Print the report as JSON
    #[arg(long)]
    pub json: bool,
    /// Notes count as findings too (exit 1 on any finding)
    #[arg(long)]
    pub strict: bool,
    /// The platform to check in a multi-platform image: linux/amd64 or linux/arm64
    /// (default: the only one, else the host's)
    #[arg(long, value_name = "OS/ARCH")]
    pub platform: Option<String>,
    /// CPU level for glibc-hwcaps subdirectories (default: baseline, the image must run on
    /// any CPU): baseline, x86-64-v2, x86-64-v3, x86-64-v4; aarch64: baseline, atomics
    #[arg(long, value_name = "LEVEL")]
    pub cpu_level: Option<String>,
    /// Most bytes the image's files may unpack to, over all layers (K, M, G, T suffixes);
    /// files check never reads are stored as their size only
    #[arg(long, value_name = "SIZE", default_value = "16G")]
    pub max_image_size: String,
}

#[derive(Args, Debug)]
pub struct BundleArgs {
    #[command(flatten)]
    pub closure: ClosureArgs,
    /// Output: a directory (must not exist or be empty) or a .tar.gz / .tgz
    #[arg(long, short = 'o', value_name = "OUT", required = true)]
    pub output: PathBuf,
    /// The folder name inside a .tar.gz (default: the file name without .tar.gz)
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// mtime of every entry (default: $SOURCE_DATE_EPOCH, else 0)
    #[arg(long, value_name = "SECONDS")]
    pub source_date_epoch: Option<String>,
    /// Print what was written as JSON
    #[arg(long)]
    pub json: bool,
    /// Programs (paths inside the root; optional with --probe or an image root: its Entrypoint)
    #[arg(value_name = "BIN")]
    pub bins: Vec<String>,
}
