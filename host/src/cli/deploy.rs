//! `tollgate plugin deploy DIR --server URL --binding HOOK/NAME`: build,
//! check the config with the plugin, upload, bind. The admin token comes
//! from a file or the environment, never from a flag's value (which other
//! users of the machine could read in the process list).

use super::plugin::{self, FAILED};
use super::project::Project;
use anyhow::{Context, Result, bail};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tollgate::domain::hook::Hook;

/// What `plugin deploy` was asked.
pub struct DeployArgs {
    pub dir: PathBuf,
    pub server: String,
    pub token_file: Option<PathBuf>,
    pub binding: String,
    pub config: Option<PathBuf>,
    pub json: bool,
}

/// The admin token: `--token-file`, else `TOLLGATE_ADMIN_TOKEN`.
fn token(file: Option<&Path>) -> Result<String> {
    let token = match file {
        Some(file) => std::fs::read_to_string(file)
            .with_context(|| format!("reading the admin token from {}", file.display()))?,
        None => std::env::var("TOLLGATE_ADMIN_TOKEN").map_err(|_| {
            anyhow::anyhow!("no admin token: pass --token-file FILE or set TOLLGATE_ADMIN_TOKEN")
        })?,
    };
    let token = token.trim().to_string();
    if token.is_empty() {
        bail!("the admin token is empty");
    }
    Ok(token)
}

fn binding(text: &str) -> Result<(Hook, String)> {
    let (hook, name) = text.split_once('/').with_context(|| {
        format!("--binding {text:?} is not HOOK/NAME (e.g. precheck/big-orders)")
    })?;
    if name.is_empty() || name.contains('/') {
        bail!("--binding {text:?} is not HOOK/NAME (e.g. precheck/big-orders)");
    }
    Ok((hook.parse()?, name.to_string()))
}

fn read_config(path: &Path) -> Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not valid JSON", path.display()))
}

/// Build, check, upload, bind; prints the binding's revision.
pub fn deploy(args: DeployArgs) -> Result<ExitCode> {
    let token = token(args.token_file.as_deref())?;
    let (hook, name) = binding(&args.binding)?;
    let project = Project::open(&args.dir)?;
    if let Some(own) = project.hook.filter(|h| *h != hook) {
        bail!(
            "{} is a {own} plugin; it cannot be bound as {hook}",
            project.name
        );
    }
    let config = args.config.as_deref().map(read_config).transpose()?;
    let file = project.build()?;
    if let (Some(config), Some(path)) = (&config, &args.config) {
        // The server would refuse it too (HTTP 422); say so before uploading.
        let loaded = plugin::load(&file)?;
        if let Err(problem) = plugin::check_config(&loaded, config) {
            eprintln!(
                "error: the plugin refuses the config {}: {}: {}",
                path.display(),
                problem["path"].as_str().unwrap_or("$"),
                problem["message"].as_str().unwrap_or_default()
            );
            return Ok(ExitCode::from(FAILED));
        }
    }
    let bytes = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
    let target = Target {
        client: reqwest::Client::new(),
        server: args.server.trim_end_matches('/').to_string(),
        token,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let outcome = runtime.block_on(async {
        let uploaded = target.upload(&project.name, bytes).await?;
        let bound = target.bind(hook, &name, &uploaded, config).await?;
        Ok::<_, anyhow::Error>((uploaded, bound))
    });
    match outcome {
        Ok((uploaded, bound)) => {
            let version = uploaded["version"].as_str().unwrap_or_default();
            if args.json {
                println!(
                    "{}",
                    json!({"plugin": project.name, "version": version, "hook": hook, "binding": name,
                           "revision": bound["revision"], "created": uploaded["created"]})
                );
            } else {
                println!(
                    "deployed {} {} as {hook}/{name}: revision {}",
                    project.name,
                    &version[..version.len().min(12)],
                    bound["revision"]
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            Ok(ExitCode::from(FAILED))
        }
    }
}

/// A server's admin API as one tenant.
struct Target {
    client: reqwest::Client,
    server: String,
    token: String,
}

impl Target {
    async fn upload(&self, plugin: &str, bytes: Vec<u8>) -> Result<Value> {
        let response = self
            .client
            .post(format!("{}/admin/v1/plugins", self.server))
            .query(&[("name", plugin)])
            .bearer_auth(&self.token)
            .header("content-type", "application/wasm")
            .body(bytes)
            .send()
            .await
            .with_context(|| format!("uploading to {}", self.server))?;
        answer(response, "the upload").await
    }

    /// PUT the binding: this version and config, keeping an existing
    /// binding's scope, priority and failure policy (and its config when
    /// none is given).
    async fn bind(
        &self,
        hook: Hook,
        name: &str,
        uploaded: &Value,
        config: Option<Value>,
    ) -> Result<Value> {
        let url = format!("{}/admin/v1/bindings/{hook}/{name}", self.server);
        let existing = self
            .client
            .get(&url)
            .bearer_auth(&self.token)
            .send()
            .await
            .with_context(|| format!("reading the binding {hook}/{name}"))?;
        let mut spec = json!({"plugin": uploaded["name"], "version": uploaded["version"]});
        if existing.status() == StatusCode::OK {
            let current: Value = existing.json().await.context("reading the binding")?;
            for key in ["scope", "priority", "on_failure", "config"] {
                spec[key] = current[key].clone();
            }
        }
        spec["config"] = config
            .or_else(|| spec.get("config").filter(|c| !c.is_null()).cloned())
            .unwrap_or_else(|| json!({}));
        let response = self
            .client
            .put(&url)
            .bearer_auth(&self.token)
            .json(&spec)
            .send()
            .await
            .with_context(|| format!("binding {hook}/{name}"))?;
        answer(response, "the binding").await
    }
}

/// The JSON of a success, or the server's problem in words.
async fn answer(response: reqwest::Response, what: &str) -> Result<Value> {
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    let value: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    if status.is_success() {
        return Ok(value);
    }
    bail!(refusal(what, status, &value, &body))
}

/// A refusal: the problem's `detail`, the config's JSON `path` when it
/// names one, and the `reason` of a refused upload.
fn refusal(what: &str, status: StatusCode, problem: &Value, body: &str) -> String {
    let detail = problem["detail"].as_str().unwrap_or(body);
    let mut message = match problem["path"].as_str() {
        Some(path) => format!("{what} was refused ({status}): the config at {path}: {detail}"),
        None => format!("{what} was refused ({status}): {detail}"),
    };
    if let Some(reason) = problem["reason"].as_str() {
        message.push_str(&format!(" [{reason}]"));
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_config_names_its_path() {
        let problem = json!({"title": "Invalid configuration", "detail": "expected an integer",
            "path": "$.products.cb_basic.min", "reason": "invalid-config"});
        assert_eq!(
            refusal(
                "the binding",
                StatusCode::UNPROCESSABLE_ENTITY,
                &problem,
                ""
            ),
            "the binding was refused (422 Unprocessable Entity): the config at $.products.cb_basic.min: expected an integer [invalid-config]"
        );
        assert_eq!(
            refusal("the upload", StatusCode::UNAUTHORIZED, &Value::Null, "no"),
            "the upload was refused (401 Unauthorized): no"
        );
    }

    #[test]
    fn bindings_are_hook_slash_name() {
        assert_eq!(
            binding("quantity-limits/seats").unwrap(),
            (Hook::QuantityLimits, "seats".to_string())
        );
        for bad in ["precheck", "precheck/", "precheck/a/b", "sideways/x"] {
            assert!(binding(bad).is_err(), "{bad}");
        }
    }
}
