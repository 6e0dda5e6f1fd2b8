//! Shared by `files` and `pack`: from `SelectArgs` to a selection and a plan.

use anyhow::{Context, Result, bail};

use super::args::SelectArgs;
use super::config::{CpuChoice, HostEnv, Session};
use crate::arch::Arch;
use crate::closure::ObjectCache;
use crate::hints::HintOptions;
use crate::ldso::Loader;
use crate::ldso::hwcaps::CpuLevel;
use crate::plan::{self, Plan, PlanOptions};
use crate::select::{self, Loaders, SelectOptions, Selection};
use crate::sysroot::Root;

impl Loaders for Session {
    fn root(&self) -> &Root {
        &self.root
    }
    fn loader(&self, arch: Arch) -> Result<std::sync::Arc<Loader>, String> {
        Session::loader(self, arch).map_err(|e| format!("{e:#}"))
    }
    fn cache(&self) -> &ObjectCache {
        &self.cache
    }
}

/// A selection and its plan, with the session that made them.
pub struct Layer {
    pub session: Session,
    pub selection: Selection,
    pub plan: Plan,
    pub options: SelectOptions,
    /// The programs as paths inside the root.
    pub bins: Vec<String>,
    /// The options the plan was built with (for what is added to it later).
    pub plan_options: PlanOptions,
}

/// Runs selection and planning for `bins`.
pub fn build(sel: &SelectArgs, bins: &[String], env: &HostEnv) -> Result<Layer> {
    let args = &sel.closure;
    let mut session = Session::new(&args.root, env, true)?;
    // A layer must not depend on the CPU of the machine that builds it: without
    // --cpu-level, trace as a baseline CPU and add every glibc-hwcaps build.
    let hwcaps_variants = args.root.cpu_level.is_none();
    if hwcaps_variants {
        session.cpu = CpuChoice::Level(CpuLevel::Baseline);
    }
    let priority = select::parse_priority(&args.dlopen_priority).with_context(|| {
        format!(
            "--dlopen-priority {}: use required, recommended or suggested",
            args.dlopen_priority
        )
    })?;
    for d in &args.data {
        if !crate::hints::known::OPT_IN.iter().any(|o| o.name == d) {
            let names: Vec<&str> = crate::hints::known::OPT_IN.iter().map(|o| o.name).collect();
            bail!("--data {d}: unknown data set; known: {}", names.join(", "));
        }
    }
    let chown = match &sel.chown {
        None => None,
        Some(s) => {
            let (u, g) = s
                .split_once(':')
                .with_context(|| format!("--chown {s}: expected UID:GID"))?;
            Some((
                u.parse::<u32>()
                    .with_context(|| format!("--chown {s}: bad uid"))?,
                g.parse::<u32>()
                    .with_context(|| format!("--chown {s}: bad gid"))?,
            ))
        }
    };
    let paths: Vec<String> = bins.iter().map(|b| session.program_path(b, env)).collect();
    let includes: Vec<String> = args
        .includes
        .iter()
        .map(|i| session.program_path(i, env))
        .collect();
    let included_nsswitch = includes
        .iter()
        .any(|i| i == "/etc/nsswitch.conf" || i == "/etc" || i == "/");
    let nsswitch = plan::layer_nsswitch(&session.root, !sel.no_base, included_nsswitch);
    let opts = SelectOptions {
        includes,
        dlopens: args.dlopens.clone(),
        hints: HintOptions {
            dlopen_priority: priority,
            gconv: !args.no_gconv,
            nsswitch,
            data: args.data.clone(),
        },
        hwcaps_variants,
    };
    let selection = select::select(&session, &paths, &opts)?;
    let plan_options = PlanOptions {
        base: !sel.no_base,
        strip_setuid: sel.strip_setuid,
        chown,
    };
    let plan = plan::build(&session.root, &selection, &plan_options);
    Ok(Layer {
        session,
        selection,
        plan,
        options: opts,
        bins: paths,
        plan_options,
    })
}
