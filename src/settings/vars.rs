//! Every environment variable `akl` reads, declared once, with its meaning.
//!
//! The constant is the variable's name, so code reads `vars::AKEYLESS_JWT` and a search
//! for a name finds every use. `docs/contract.md` documents each one (a unit test checks
//! that it does).

macro_rules! vars {
    ($($(#[doc = $doc:literal])+ $name:ident;)+) => {
        $($(#[doc = $doc])+ #[allow(non_upper_case_globals)] pub const $name: &str = stringify!($name);)+

        /// Every variable above with its meaning.
        #[cfg(test)]
        pub const ALL: &[(&str, &str)] = &[$((stringify!($name), concat!($($doc),+))),+];
    };
}

vars! {
    /// The V2 API base; default `https://api.akeyless.io`.
    AKEYLESS_GATEWAY_URL;
    /// The old V1-style gateway URL (`…/api/v1`, `:8080`), mapped to V2.
    AKEYLESS_API_GW_URL;
    /// The auth method's access id (`p-…`).
    AKEYLESS_ACCESS_ID;
    /// `jwt`, `access_key`, `k8s`, `aws_iam`, `azure_ad`, `gcp` or `cert`; inferred from
    /// what is set when absent.
    AKEYLESS_ACCESS_TYPE;
    /// The access key, for `access_key`.
    AKEYLESS_ACCESS_KEY;
    /// The job's ID token (declare `id_tokens: AKEYLESS_JWT: aud: …`).
    AKEYLESS_JWT;
    /// The name of another variable that holds the ID token.
    AKEYLESS_JWT_VAR;
    /// GitLab's ID token before 17.0; a fallback for the JWT.
    CI_JOB_JWT_V2;
    /// GitLab's first ID token, removed in 17.0; the last fallback for the JWT.
    CI_JOB_JWT;
    /// A ready `t-…` or `u-…` token: no login.
    AKEYLESS_TOKEN;
    /// The token ci_base pipelines keep from `akeyless auth`; masked by `akl run`.
    TOKEN;
    /// The Akeyless CLI's profile, whose kept token is used when nothing else logs in
    /// (default `default`).
    AKEYLESS_DEFAULT_PROFILE;
    /// Extra CA certificates (PEM) for a private gateway.
    AKEYLESS_CA_CERT;
    /// A CA bundle to trust, as OpenSSL-based tools honour it.
    SSL_CERT_FILE;
    /// Where `akl env` writes; default `$HOME/.akeyless/env`.
    AKEYLESS_ENV_FILE;
    /// The overall deadline of a run, in seconds (default 60).
    AKEYLESS_TIMEOUT;
    /// What `akl` sends as `akeylessclienttype` (default `akl`; the `akeyless` emulation
    /// sends `cli`, as the Akeyless CLI does): auth methods can limit client types.
    AKEYLESS_CLIENT_TYPE;
    /// `true`: unresolved references are left out with a warning instead of failing.
    AKEYLESS_ALLOW_MISSING;
    /// `false`: the credentials dynamic secrets minted are not revoked when the command
    /// (`akl run`) or the job's script (the image) ends.
    AKEYLESS_REVOKE;
    /// The GitLab job's id: part of what `--reuse` compares, so a new job fetches anew.
    CI_JOB_ID;
    /// Set in every GitLab job.
    GITLAB_CI;
    /// The job's image; unset on the shell executor, where files of secrets are removed
    /// when the job's shell exits.
    CI_JOB_IMAGE;
    /// The user's home: the default env file is `$HOME/.akeyless/env`.
    HOME;
    /// Where the private fallback directory goes when HOME cannot hold the env file.
    TMPDIR;
    /// Where `akl run` looks for the command, as a shell would.
    PATH;
    /// A proxy for https requests; its password is scrubbed and masked.
    HTTPS_PROXY;
    /// The same, as curl spells it.
    https_proxy;
    /// A proxy for http requests (plain-http gateways).
    HTTP_PROXY;
    /// The same, as curl spells it.
    http_proxy;
    /// A proxy for every request.
    ALL_PROXY;
    /// The same, as curl spells it.
    all_proxy;
    /// Hosts reached without the proxy (read by the HTTP client itself).
    NO_PROXY;
    /// The socket of the output masker the job runs under (set by `akl run` for its
    /// command): values are registered there before they are printed.
    AKL_MASK_SOCKET;

    /// The audience to ask for where a CI mints ID tokens on request (GitHub Actions,
    /// Buildkite); the CI's default audience when unset.
    AKEYLESS_JWT_AUDIENCE;
    /// GitHub Actions: the URL that mints the job's ID token (`permissions: id-token: write`).
    ACTIONS_ID_TOKEN_REQUEST_URL;
    /// GitHub Actions: the bearer token for that URL.
    ACTIONS_ID_TOKEN_REQUEST_TOKEN;
    /// Set to `true` in every GitHub Actions step: values are registered with `::add-mask::`.
    GITHUB_ACTIONS;
    /// Bitbucket Pipelines: the step's ID token (`oidc: true`).
    BITBUCKET_STEP_OIDC_TOKEN;
    /// CircleCI: the job's ID token (jobs with a context), preferred to `CIRCLE_OIDC_TOKEN`.
    CIRCLE_OIDC_TOKEN_V2;
    /// CircleCI: the older form of the job's ID token.
    CIRCLE_OIDC_TOKEN;
    /// Set to `true` in every Buildkite job: ID tokens come from `buildkite-agent oidc
    /// request-token`, and values are registered with `buildkite-agent redactor add`.
    BUILDKITE;
    /// Azure Pipelines: the URL that mints the job's ID token.
    SYSTEM_OIDCREQUESTURI;
    /// Azure Pipelines: the job's access token, the bearer for that URL.
    SYSTEM_ACCESSTOKEN;
    /// Azure Pipelines: the service connection whose federated identity Akeyless trusts.
    AKEYLESS_AZURE_SERVICE_CONNECTION_ID;
    /// Set to `True` in every Azure Pipelines job: values are registered with
    /// `##vso[task.setsecret]`.
    TF_BUILD;
    /// `k8s`: the gateway's Kubernetes auth config name.
    AKEYLESS_K8S_AUTH_CONFIG_NAME;
    /// `k8s`: the service-account token's file (default
    /// `/var/run/secrets/kubernetes.io/serviceaccount/token`).
    AKEYLESS_K8S_TOKEN_FILE;
    /// `aws_iam`: static or temporary AWS credentials, as the AWS SDKs read them.
    AWS_ACCESS_KEY_ID;
    /// `aws_iam`: the secret key of `AWS_ACCESS_KEY_ID`.
    AWS_SECRET_ACCESS_KEY;
    /// `aws_iam`: the session token of temporary credentials.
    AWS_SESSION_TOKEN;
    /// `aws_iam`: the container credentials endpoint (ECS, EKS Pod Identity), a full URL.
    AWS_CONTAINER_CREDENTIALS_FULL_URI;
    /// `aws_iam`: the ECS container credentials path on 169.254.170.2.
    AWS_CONTAINER_CREDENTIALS_RELATIVE_URI;
    /// `aws_iam`: the authorization header for the container credentials endpoint.
    AWS_CONTAINER_AUTHORIZATION_TOKEN;
    /// `aws_iam`: a file holding that authorization header (EKS Pod Identity).
    AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE;
    /// `aws_iam`: the instance metadata service's address (default `http://169.254.169.254`).
    AWS_EC2_METADATA_SERVICE_ENDPOINT;
    /// `aws_iam`: `true` keeps akl away from the instance metadata service.
    AWS_EC2_METADATA_DISABLED;
    /// `aws_iam`: IAM roles for service accounts (EKS IRSA), which the AWS SDKs would use
    /// before the container endpoint and IMDS; akl refuses to sign as another identity.
    AWS_WEB_IDENTITY_TOKEN_FILE;
    /// `azure_ad`: the managed identity endpoint of App Service, Functions and Container Apps.
    IDENTITY_ENDPOINT;
    /// `azure_ad`: the header value that endpoint requires.
    IDENTITY_HEADER;
    /// `azure_ad`: the instance metadata service's address (default `http://169.254.169.254`).
    AZURE_POD_IDENTITY_AUTHORITY_HOST;
    /// `azure_ad`: the object id of a user-assigned managed identity.
    AKEYLESS_AZURE_OBJECT_ID;
    /// `gcp`: the metadata server's host (default `metadata.google.internal`).
    GCE_METADATA_HOST;
    /// `gcp`: the audience of the ID token (default `akeyless.io`).
    AKEYLESS_GCP_AUDIENCE;
    /// `cert`: the client certificate (PEM) of the certificate auth method.
    AKEYLESS_CERT_FILE;
    /// `cert`: its private key (PEM, PKCS#8 or PKCS#1 RSA); it never leaves the job.
    AKEYLESS_KEY_FILE;
}

#[cfg(test)]
mod tests {
    /// Every variable akl reads is documented in the contract, with a row of its own.
    #[test]
    fn the_contract_documents_every_variable() {
        let contract = include_str!("../../docs/contract.md");
        let first_cells: Vec<&str> = contract
            .lines()
            .filter_map(|line| line.strip_prefix("| `")?.split(" |").next())
            .collect();
        for (name, meaning) in super::ALL {
            assert!(!meaning.is_empty(), "{name} has no meaning");
            let quoted = format!("`{name}`");
            assert!(
                first_cells
                    .iter()
                    .any(|cell| format!("`{cell}").contains(&quoted)),
                "docs/contract.md has no row for {name}"
            );
        }
    }
}
