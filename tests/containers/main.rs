//! The `ci_base-rs:alpine` image, run the way GitLab Runner runs a job, against the fake
//! Akeyless on the host network. Needs a Docker engine (`make test` starts the checkout's
//! own) and, for the example pipeline, gitlab-ci-local from npm.

mod certs;
mod docs;
mod jobs;
mod masking;
mod platforms;
mod runner;
