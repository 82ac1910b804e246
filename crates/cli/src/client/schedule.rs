//! `hearth schedule`: an EventBridge Scheduler schedule that invokes a function
//! (CreateSchedule), and `schedule rm` / `schedule ls` (DeleteSchedule, ListSchedules).

use anyhow::Context;
use serde_json::{json, Map, Value};
use ureq::http::Method;

use super::http::{function_path, Client};
use super::ls::columns;
use super::output::{emit, line};
use super::scheduler::{self, SERVICE};
use super::{invoke, wait, CommonArgs};

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct ScheduleArgs {
    #[command(subcommand)]
    pub command: Option<ScheduleCommand>,

    #[command(flatten)]
    pub create: CreateArgs,
}

/// `hearth schedule NAME EXPRESSION --function F ...`.
#[derive(Debug, clap::Args)]
pub struct CreateArgs {
    /// The schedule's name (not `rm` or `ls`, which are this command's subcommands).
    #[arg(required = true)]
    pub name: Option<String>,

    /// When it fires: `rate(5 minutes)`, `cron(0 12 * * ? *)` or `at(2030-01-01T00:00:00)`.
    #[arg(required = true)]
    pub expression: Option<String>,

    /// The function to invoke (name, name:qualifier or ARN): the schedule's target is
    /// its ARN.
    #[arg(long, required = true)]
    pub function: Option<String>,

    /// The event the function gets: JSON text, or @FILE (@- reads standard input)
    /// [default: the Scheduler's own notification].
    #[arg(long, value_name = "JSON")]
    pub input: Option<String>,

    /// The schedule group [default: the `default` group].
    #[arg(long)]
    pub group: Option<String>,

    /// The IANA time zone the expression is read in, e.g. Europe/Paris [default: UTC].
    #[arg(long, value_name = "TZ")]
    pub timezone: Option<String>,

    /// The role the Scheduler invokes the function with [default: the server's schedule
    /// role, `hearth-scheduler`, in the function's account: it trusts the Scheduler and
    /// may invoke functions].
    #[arg(long, value_name = "ARN")]
    pub role: Option<String>,

    /// Create the schedule disabled (it does not fire until enabled).
    #[arg(long)]
    pub disabled: bool,

    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Debug, clap::Subcommand)]
pub enum ScheduleCommand {
    /// Delete a schedule.
    Rm {
        /// The schedule's name.
        name: String,
        /// Its group [default: the `default` group].
        #[arg(long)]
        group: Option<String>,
        #[command(flatten)]
        common: CommonArgs,
    },
    /// List schedules (of every group, or of one).
    Ls {
        /// Only this group's schedules.
        #[arg(long)]
        group: Option<String>,
        #[command(flatten)]
        common: CommonArgs,
    },
}

/// What CreateSchedule needs besides the command line: the function's ARN and, unless
/// `--role` names one, the role to use (the default schedule role of its account).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    pub arn: String,
    pub role: String,
}

pub fn run(args: ScheduleArgs) -> anyhow::Result<()> {
    match args.command {
        None => create(args.create),
        Some(ScheduleCommand::Rm {
            name,
            group,
            common,
        }) => {
            let path = scheduler::schedule_in_group_path(&name, group.as_deref());
            Client::new(&common)?.call_to(SERVICE, Method::DELETE, &path, None)?;
            if common.json {
                line(json!({"Name": name, "GroupName": group, "Deleted": true}))
            } else {
                line(format!("deleted {name}"))
            }
        }
        Some(ScheduleCommand::Ls { group, common }) => {
            let schedules = scheduler::list_all(&Client::new(&common)?, group.as_deref())?;
            if common.json {
                return line(serde_json::to_string_pretty(&schedules)?);
            }
            emit(table(&schedules).as_bytes())
        }
    }
}

fn create(args: CreateArgs) -> anyhow::Result<()> {
    let (Some(name), Some(expression), Some(function)) = (
        args.name.as_deref(),
        args.expression.as_deref(),
        args.function.as_deref(),
    ) else {
        // clap requires all three without a subcommand; this is its message's fallback.
        anyhow::bail!("usage: hearth schedule NAME EXPRESSION --function F");
    };
    // Checked before any request: a typo should not need a round trip to show.
    let input = args.input.as_deref().map(input_json).transpose()?;
    let client = Client::new(&args.common)?;
    let target = resolve(&client, function)?;
    let body = request(&args, expression, &target, input);
    let made = client
        .call_to(
            SERVICE,
            Method::POST,
            &scheduler::schedule_path(name),
            Some(&body),
        )
        .with_context(|| format!("creating the schedule {name}"))?;
    if args.common.json {
        return line(serde_json::to_string_pretty(&made)?);
    }
    line(wait::field(&made, "ScheduleArn"))
}

/// `--input` as the Target's `Input`: the text itself (AWS keeps it as given), once it
/// is known to be JSON, which a Lambda target's input must be.
fn input_json(text: &str) -> anyhow::Result<String> {
    let bytes = invoke::read_payload(text)?;
    let text = String::from_utf8(bytes).context("--input is not UTF-8 text")?;
    serde_json::from_str::<Value>(&text)
        .map_err(|e| anyhow::anyhow!("--input is not valid JSON: {e}"))?;
    Ok(text)
}

/// The function's ARN (GetFunction) and the default schedule role of its account.
fn resolve(client: &Client, function: &str) -> anyhow::Result<Function> {
    let got = client
        .call(Method::GET, &function_path(function), None)
        .with_context(|| format!("looking up the function {function}"))?;
    let config = got.get("Configuration").unwrap_or(&Value::Null);
    let text = |key: &str| {
        config
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_string)
            .with_context(|| format!("GetFunction's answer for {function} has no {key}"))
    };
    let arn = text("FunctionArn")?;
    let account = arn.split(':').nth(4).unwrap_or_default().to_string();
    Ok(Function {
        // The schedule role the server makes on its first start.
        role: format!("arn:aws:iam::{account}:role/hearth-scheduler"),
        arn,
    })
}

/// CreateSchedule's body: the function's ARN as the target, no flexible window, the
/// role given or else the default schedule role.
fn request(
    args: &CreateArgs,
    expression: &str,
    function: &Function,
    input: Option<String>,
) -> Value {
    let mut target = Map::new();
    target.insert("Arn".into(), json!(function.arn));
    target.insert(
        "RoleArn".into(),
        json!(args.role.as_deref().unwrap_or(&function.role)),
    );
    if let Some(input) = input {
        target.insert("Input".into(), json!(input));
    }
    let mut body = Map::new();
    body.insert("ScheduleExpression".into(), json!(expression));
    body.insert("FlexibleTimeWindow".into(), json!({"Mode": "OFF"}));
    body.insert("Target".into(), Value::Object(target));
    if let Some(timezone) = &args.timezone {
        body.insert("ScheduleExpressionTimezone".into(), json!(timezone));
    }
    if let Some(group) = &args.group {
        body.insert("GroupName".into(), json!(group));
    }
    if args.disabled {
        body.insert("State".into(), json!("DISABLED"));
    }
    Value::Object(body)
}

fn table(schedules: &[Value]) -> String {
    let rows: Vec<[String; 4]> = schedules
        .iter()
        .map(|s| {
            let target = s.get("Target").unwrap_or(&Value::Null);
            [
                wait::field(s, "Name").to_string(),
                wait::field(s, "GroupName").to_string(),
                wait::field(s, "State").to_string(),
                wait::field(target, "Arn").to_string(),
            ]
        })
        .collect();
    columns(["NAME", "GROUP", "STATE", "TARGET"], &rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        schedule: ScheduleArgs,
    }

    fn parse(args: &[&str]) -> ScheduleArgs {
        let argv = std::iter::once("schedule").chain(args.iter().copied());
        Cli::try_parse_from(argv).expect("valid arguments").schedule
    }

    fn function() -> Function {
        Function {
            arn: "arn:aws:lambda:us-east-1:000000000000:function:f".into(),
            role: "arn:aws:iam::000000000000:role/f-role".into(),
        }
    }

    #[test]
    fn the_least_a_schedule_needs() {
        let args = parse(&["every-5", "rate(5 minutes)", "--function", "f"]);
        assert!(args.command.is_none());
        let create = args.create;
        assert_eq!(create.name.as_deref(), Some("every-5"));
        assert_eq!(
            request(&create, "rate(5 minutes)", &function(), None),
            json!({
                "ScheduleExpression": "rate(5 minutes)",
                "FlexibleTimeWindow": {"Mode": "OFF"},
                "Target": {
                    "Arn": "arn:aws:lambda:us-east-1:000000000000:function:f",
                    "RoleArn": "arn:aws:iam::000000000000:role/f-role"
                }
            })
        );
    }

    #[test]
    fn every_option_reaches_the_request() {
        let args = parse(&[
            "nightly",
            "cron(0 3 * * ? *)",
            "--function",
            "f",
            "--input",
            r#"{"job": "gc"}"#,
            "--group",
            "ops",
            "--timezone",
            "Europe/Paris",
            "--role",
            "arn:aws:iam::000000000000:role/scheduler",
            "--disabled",
        ])
        .create;
        let input = input_json(args.input.as_deref().expect("input")).expect("JSON");
        assert_eq!(
            request(&args, "cron(0 3 * * ? *)", &function(), Some(input)),
            json!({
                "ScheduleExpression": "cron(0 3 * * ? *)",
                "ScheduleExpressionTimezone": "Europe/Paris",
                "FlexibleTimeWindow": {"Mode": "OFF"},
                "GroupName": "ops",
                "State": "DISABLED",
                "Target": {
                    "Arn": "arn:aws:lambda:us-east-1:000000000000:function:f",
                    "RoleArn": "arn:aws:iam::000000000000:role/scheduler",
                    "Input": "{\"job\": \"gc\"}"
                }
            })
        );
    }

    #[test]
    fn input_must_be_json() {
        assert_eq!(input_json("[1, 2]").expect("JSON"), "[1, 2]");
        let err = input_json("{job: gc}").expect_err("not JSON");
        assert_eq!(
            err.to_string(),
            "--input is not valid JSON: key must be a string at line 1 column 2"
        );
    }

    #[test]
    fn rm_and_ls_are_subcommands() {
        match parse(&["rm", "every-5", "--group", "ops"]).command {
            Some(ScheduleCommand::Rm { name, group, .. }) => {
                assert_eq!(name, "every-5");
                assert_eq!(group.as_deref(), Some("ops"));
            }
            other => panic!("expected rm, got {other:?}"),
        }
        assert!(matches!(
            parse(&["ls"]).command,
            Some(ScheduleCommand::Ls { group: None, .. })
        ));
    }

    #[test]
    fn a_schedule_needs_its_function() {
        let argv = ["schedule", "every-5", "rate(5 minutes)"];
        let err = Cli::try_parse_from(argv).expect_err("no --function");
        assert_eq!(err.kind(), clap::error::ErrorKind::MissingRequiredArgument);
    }

    #[test]
    fn ls_table() {
        let schedules = vec![json!({
            "Name": "every-5", "GroupName": "default", "State": "ENABLED",
            "Target": {"Arn": "arn:aws:lambda:us-east-1:000000000000:function:f"}
        })];
        assert_eq!(
            table(&schedules),
            "NAME     GROUP    STATE    TARGET\n\
             every-5  default  ENABLED  arn:aws:lambda:us-east-1:000000000000:function:f\n"
        );
    }
}
