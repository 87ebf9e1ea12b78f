//! The usage check behind service-linked role deletion: each linked
//! service says which of its resources still use its role.

use iam::{RoleUsage, ServiceUsage};

use crate::app::App;

pub struct Usage<'a> {
    pub app: &'a App,
}

impl ServiceUsage for Usage<'_> {
    fn usage(&self, service: &str, _role_arn: &str) -> Result<Vec<RoleUsage>, String> {
        match service {
            iam::DAX_SERVICE => Ok(self.app.dax_clusters_by_region()),
            // An experiment that has not ended acts through the role.
            iam::FIS_SERVICE => self
                .app
                .fis
                .active_experiments()
                .map(|v| v.into_iter().map(|(region, resources)| RoleUsage { region, resources }).collect())
                .map_err(|e| e.to_string()),
            other => Err(format!("daxd cannot check the resources of {other}")),
        }
    }
}
