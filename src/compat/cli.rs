//! The Akeyless CLI's commands and flags that CI scripts use, as clap definitions.

use std::path::PathBuf;

use clap::{ArgGroup, Args, Parser, Subcommand};

use super::SUPPORTED;

/// The Akeyless CLI's commands that CI scripts use.
#[derive(Debug, Parser)]
#[command(name = "akeyless", after_help = SUPPORTED, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Authenticate, print the token and keep it for later commands.
    Auth(AuthArgs),
    /// Print a static secret's value.
    GetSecretValue(Versioned),
    /// Print fresh credentials from a dynamic secret, as JSON.
    GetDynamicSecretValue(Dynamic),
    /// Print a rotated secret's value, as JSON.
    GetRotatedSecretValue(Versioned),
    /// Print an item's name, type and latest version, as JSON.
    DescribeItem(Item),
    /// List the items and sub-folders under a path, as JSON (every page).
    ListItems(ListArgs),
    /// Have an SSH issuer sign a public key; the certificate is written to a file.
    GetSshCertificate(SshCertArgs),
    /// Have a PKI issuer sign a CSR or a public key; prints or writes the certificate.
    GetPkiCertificate(PkiCertArgs),
}

#[derive(Debug, Args)]
pub struct AuthArgs {
    #[arg(long, value_name = "ID")]
    pub access_id: Option<String>,
    /// jwt or access_key [default: inferred from what is given]
    #[arg(long, value_name = "TYPE")]
    pub access_type: Option<String>,
    /// Prefer AKEYLESS_ACCESS_KEY: a command line is world-readable.
    #[arg(long, value_name = "KEY", num_args = 0..=1, default_missing_value = "")]
    pub access_key: Option<String>,
    /// Prefer AKEYLESS_JWT: a command line is world-readable.
    #[arg(long, value_name = "JWT", num_args = 0..=1, default_missing_value = "")]
    pub jwt: Option<String>,
    #[command(flatten)]
    pub gateway: GatewayArg,
    #[command(flatten)]
    pub output: Output,
}

/// How an item command logs in and prints.
#[derive(Debug, Args)]
pub struct Access {
    /// Prefer AKEYLESS_TOKEN: a command line is world-readable.
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,
    /// A universal identity token (u-…); prefer AKEYLESS_TOKEN.
    #[arg(long, value_name = "TOKEN")]
    pub uid_token: Option<String>,
    #[command(flatten)]
    pub gateway: GatewayArg,
    #[command(flatten)]
    pub output: Output,
}

#[derive(Debug, Args)]
pub struct Item {
    /// The item's path.
    #[arg(short, long, value_name = "PATH")]
    pub name: String,
    #[command(flatten)]
    pub access: Access,
}

#[derive(Debug, Args)]
pub struct Versioned {
    #[command(flatten)]
    pub item: Item,
    #[arg(long)]
    pub version: Option<u32>,
}

#[derive(Debug, Args)]
pub struct Dynamic {
    #[command(flatten)]
    pub item: Item,
    /// An argument for the producer, key=value or JSON (repeatable).
    #[arg(long = "args", value_name = "ARG")]
    pub args: Vec<String>,
    /// Seconds the producer may take (the API's default is 15).
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<u32>,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// The folder to list.
    #[arg(long, value_name = "PATH", default_value = "/")]
    pub path: String,
    /// Only items whose name contains this.
    #[arg(long, value_name = "TEXT")]
    pub filter: Option<String>,
    /// Only items of this type: static-secret, dynamic-secret, rotated-secret, … (repeatable).
    #[arg(short = 't', long = "type", value_name = "TYPE")]
    pub types: Vec<String>,
    /// Only the folder itself, not its sub-folders.
    #[arg(long)]
    pub current_folder: bool,
    #[command(flatten)]
    pub access: Access,
}

#[derive(Debug, Args)]
pub struct GatewayArg {
    /// The gateway, V1 style as the CLI takes it (…/api/v1 maps to …/api/v2).
    #[arg(long, value_name = "URL")]
    pub gateway_url: Option<String>,
}

#[derive(Debug, Args)]
pub struct Output {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Narrow the JSON output with a path expression such as .token.
    #[arg(long, value_name = "EXPR")]
    pub jq_expression: Option<String>,
}

#[derive(Debug, Args)]
pub struct SshCertArgs {
    /// The user names to sign the certificate for (comma-separated).
    #[arg(long, value_name = "USERS")]
    pub cert_username: String,
    /// The SSH certificate issuer's path.
    #[arg(long, value_name = "PATH")]
    pub cert_issuer_name: String,
    /// The public key to sign (OpenSSH's .pub file); only this file is read and sent.
    #[arg(long, value_name = "FILE")]
    pub public_key_file_path: PathBuf,
    /// Seconds the certificate is valid, at most the issuer's [default: the issuer's].
    #[arg(long, value_name = "SECONDS")]
    pub ttl: Option<u32>,
    /// Name an RSA certificate ssh-rsa-cert-v01@openssh.com, for old servers.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub legacy_signing_alg_name: Option<bool>,
    /// Where to write the certificate [default: the public key's path with -cert.pub added].
    #[arg(short = 'o', long = "outfile", value_name = "FILE")]
    pub outfile: Option<PathBuf>,
    #[command(flatten)]
    pub access: Access,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("key").required(true).args(["csr_file_path", "key_file_path"])))]
pub struct PkiCertArgs {
    /// The PKI certificate issuer's path.
    #[arg(long, value_name = "PATH")]
    pub cert_issuer_name: String,
    /// A certificate request (PEM or DER); the names come from it.
    #[arg(long, value_name = "FILE")]
    pub csr_file_path: Option<PathBuf>,
    /// The key to certify (PEM); of a private key only the public half is sent.
    #[arg(long, value_name = "FILE")]
    pub key_file_path: Option<PathBuf>,
    /// The certificate's common name (with --key-file-path).
    #[arg(long, value_name = "NAME")]
    pub common_name: Option<String>,
    /// Alternative names, comma-separated (with --key-file-path).
    #[arg(long, value_name = "NAMES")]
    pub alt_names: Option<String>,
    /// Seconds the certificate is valid, at most the issuer's [default: the issuer's].
    #[arg(long, value_name = "SECONDS")]
    pub ttl: Option<u32>,
    /// Write the certificate and the issuer's chain to this file instead of printing them.
    #[arg(short = 'o', long = "outfile", value_name = "FILE")]
    pub outfile: Option<PathBuf>,
    #[command(flatten)]
    pub access: Access,
}
