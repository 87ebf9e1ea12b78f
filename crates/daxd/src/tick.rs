//! The clock-driven work of the background task (`main.rs`): DAX lifecycles
//! advance, service-linked role deletion tasks advance, access records are
//! flushed, the DAX node listeners follow the control plane, and once a
//! minute the DAX metrics are recorded in CloudWatch and its alarms evaluated. It lives
//! apart from `App` so that the state shared by requests does not depend on
//! the data plane that depends on it.

use crate::app::App;
use crate::usage::Usage;

/// One step of the background work. Errors are logged, and retried on the next tick.
pub fn tick(app: &App) {
    if let Err(e) = app.dax.tick() {
        tracing::warn!(error = %e, "advancing DAX lifecycles");
    }
    {
        let _deleting = app.role_in_use.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Err(e) = app.iam.advance_deletion_tasks(&Usage { app }, app.step_secs) {
            tracing::warn!(error = %e, "advancing service-linked role deletion tasks");
        }
    }
    if let Err(e) = app.iam.flush_activity() {
        tracing::warn!(error = %e, "flushing access records");
    }
    // DAX data plane: node listeners follow the control plane's nodes.
    crate::dax_host::reconcile(app);
    // CloudWatch: the minute's DAX metrics, then the alarms on them.
    crate::dax_host::record_metrics(app);
    match app.cloudwatch.opened() {
        Ok(regions) => {
            for cw in regions {
                if let Err(e) = cw.tick() {
                    tracing::warn!(error = %e, "evaluating CloudWatch alarms");
                }
            }
        }
        Err(e) => tracing::warn!(error = %e, "opening CloudWatch's regions"),
    }
}
