//! Unit tests with in-memory fakes of the network, IAM and port allocator,
//! on a manual clock and sequential ids.

mod clusters;
mod groups;
mod misc;
mod on_hosts;
mod write_failures;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base::{Env, ManualClock, SeqIds};
use state::Store;

use crate::*;

pub const ACCOUNT: &str = "123456789012";
pub const R1: &str = "us-east-1";
pub const R2: &str = "eu-west-1";
pub const ROLE: &str = "arn:aws:iam::123456789012:role/DAXServiceRole";
pub const T0: i64 = 1_700_000_000;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// EC2 as DAX sees it: in R1 and R2 a default VPC `vpc-def` with subnets in
/// zones a, b, c (subnet-<region>-{a,b,c}) and SG `sg-def`; a second VPC
/// `vpc-two` with subnets `subnet-x` (zone a, dual stack) and `subnet-y`
/// (zone b, dual stack) and SG `sg-two`; `subnet-z` in `vpc-other`.
/// An interface: region, subnet, security groups, description.
type Eni = (String, String, Vec<String>, String);

#[derive(Default)]
pub struct FakeNet {
    pub enis: Mutex<BTreeMap<String, Eni>>,
    pub created: AtomicUsize,
    pub deleted: AtomicUsize,
    pub modified: AtomicUsize,
    /// Creating fails (once) after this many more interfaces have been made.
    pub fail_create_after: Mutex<Option<usize>>,
    /// Deleting fails (once) after this many more interfaces have been deleted.
    pub fail_delete_after: Mutex<Option<usize>>,
    pub fail_modify_after: Mutex<Option<usize>>,
    pub no_default_vpc: Mutex<BTreeSet<String>>,
}

fn countdown(slot: &Mutex<Option<usize>>) -> bool {
    let mut s = lock(slot);
    match *s {
        Some(0) => {
            *s = None;
            true
        }
        Some(n) => {
            *s = Some(n - 1);
            false
        }
        None => false,
    }
}

fn ec2_error(what: &str) -> DaxError {
    DaxError::ServiceLinkedRoleNotFoundFault(format!("{what}: The specified service linked role (SLR) was not found."))
}

impl FakeNet {
    pub fn live(&self) -> usize {
        lock(&self.enis).len()
    }

    pub fn descriptions(&self) -> Vec<String> {
        lock(&self.enis).values().map(|e| e.3.clone()).collect()
    }

    pub fn groups_of_all(&self) -> Vec<Vec<String>> {
        lock(&self.enis).values().map(|e| e.2.clone()).collect()
    }
}

impl Network for FakeNet {
    fn subnet(&self, region: &str, id: &str) -> Option<SubnetInfo> {
        let s = |vpc: &str, az: &str, ipv6: bool| {
            Some(SubnetInfo { id: id.to_owned(), vpc_id: vpc.to_owned(), az: format!("{region}{az}"), ipv6 })
        };
        match id {
            "subnet-x" => s("vpc-two", "a", true),
            "subnet-y" => s("vpc-two", "b", true),
            "subnet-z" => s("vpc-other", "a", false),
            _ => self.default_vpc_subnets(region).into_iter().find(|s| s.id == id),
        }
    }

    fn security_group(&self, _region: &str, id: &str) -> Option<SgInfo> {
        let vpc = match id {
            "sg-def" | "sg-def2" => "vpc-def",
            "sg-two" => "vpc-two",
            _ => return None,
        };
        Some(SgInfo { id: id.to_owned(), vpc_id: vpc.to_owned() })
    }

    fn default_vpc_subnets(&self, region: &str) -> Vec<SubnetInfo> {
        if lock(&self.no_default_vpc).contains(region) {
            return Vec::new();
        }
        ["c", "a", "b"]
            .iter()
            .map(|az| SubnetInfo {
                id: format!("subnet-{region}-{az}"),
                vpc_id: "vpc-def".to_owned(),
                az: format!("{region}{az}"),
                ipv6: false,
            })
            .collect()
    }

    fn default_security_group(&self, _region: &str, vpc_id: &str) -> Option<String> {
        match vpc_id {
            "vpc-def" => Some("sg-def".to_owned()),
            "vpc-two" => Some("sg-two".to_owned()),
            _ => None,
        }
    }

    fn create_node_interface(
        &self,
        region: &str,
        subnet_id: &str,
        security_group_ids: &[String],
        description: &str,
    ) -> Result<String, DaxError> {
        if countdown(&self.fail_create_after) {
            return Err(ec2_error("CreateNetworkInterface"));
        }
        let n = self.created.fetch_add(1, Ordering::SeqCst);
        let id = format!("eni-{n:08x}");
        lock(&self.enis).insert(
            id.clone(),
            (region.to_owned(), subnet_id.to_owned(), security_group_ids.to_vec(), description.to_owned()),
        );
        Ok(id)
    }

    fn delete_node_interface(&self, _region: &str, eni_id: &str) -> Result<(), DaxError> {
        if countdown(&self.fail_delete_after) {
            return Err(ec2_error("DeleteNetworkInterface"));
        }
        if lock(&self.enis).remove(eni_id).is_some() {
            self.deleted.fetch_add(1, Ordering::SeqCst);
        }
        Ok(())
    }

    fn modify_node_interface_groups(
        &self,
        _region: &str,
        eni_id: &str,
        security_group_ids: &[String],
    ) -> Result<(), DaxError> {
        if countdown(&self.fail_modify_after) {
            return Err(ec2_error("ModifyNetworkInterfaceAttribute"));
        }
        self.modified.fetch_add(1, Ordering::SeqCst);
        if let Some(e) = lock(&self.enis).get_mut(eni_id) {
            e.2 = security_group_ids.to_vec();
        }
        Ok(())
    }
}

/// IAM: every role is fine except those whose name contains `missing`.
pub struct FakeIam;

impl Identity for FakeIam {
    fn service_role_check(&self, role_arn: &str) -> Result<(), String> {
        if role_arn.contains("missing") {
            Err(format!("No permission to assume role: {role_arn}"))
        } else {
            Ok(())
        }
    }
}

/// Ports from 8111 up, lowest free first.
#[derive(Default)]
pub struct FakePorts {
    pub used: Mutex<BTreeMap<u16, String>>,
    pub fail: Mutex<Option<usize>>,
}

impl FakePorts {
    pub fn in_use(&self) -> Vec<u16> {
        lock(&self.used).keys().copied().collect()
    }
}

impl Ports for FakePorts {
    fn allocate(&self, region: &str, _cluster: &str, node_id: &str) -> Result<u16, DaxError> {
        if countdown(&self.fail) {
            return Err(DaxError::InsufficientClusterCapacityFault("No free port.".to_owned()));
        }
        let mut used = lock(&self.used);
        let port = (8111..u16::MAX).find(|p| !used.contains_key(p)).unwrap_or(0);
        used.insert(port, format!("{region}/{node_id}"));
        Ok(port)
    }

    fn release(&self, port: u16) {
        lock(&self.used).remove(&port);
    }
}

/// The data plane: every listener serves, except while `hold` is set; then
/// only the `(node id, generation)` pairs in `up` do.
#[derive(Default)]
pub struct FakeReadiness {
    pub hold: std::sync::atomic::AtomicBool,
    pub up: Mutex<BTreeSet<(String, u64)>>,
    pub asked: AtomicUsize,
}

impl FakeReadiness {
    /// From now on, only listeners marked with [`Self::up`] serve.
    pub fn hold(&self) {
        self.hold.store(true, Ordering::SeqCst);
    }

    pub fn up(&self, node_id: &str, generation: u64) {
        lock(&self.up).insert((node_id.to_owned(), generation));
    }
}

impl Readiness for FakeReadiness {
    fn serving(&self, node: &NodeListener<'_>) -> bool {
        self.asked.fetch_add(1, Ordering::SeqCst);
        !self.hold.load(Ordering::SeqCst) || lock(&self.up).contains(&(node.node_id.to_owned(), node.generation))
    }
}

pub struct Fixture {
    pub dax: DaxControl,
    pub net: Arc<FakeNet>,
    pub ports: Arc<FakePorts>,
    pub ready: Arc<FakeReadiness>,
    pub clock: Arc<ManualClock>,
    pub store: Arc<Store>,
    pub delay: u64,
}

impl Fixture {
    pub fn new(delay_secs: u64) -> Self {
        Self::on(Arc::new(Store::in_memory().expect("store")), delay_secs)
    }

    pub fn on(store: Arc<Store>, delay_secs: u64) -> Self {
        let net = Arc::new(FakeNet::default());
        let ports = Arc::new(FakePorts::default());
        let clock = Arc::new(ManualClock::at(T0));
        let ready = Arc::new(FakeReadiness::default());
        let dax = open(&store, &net, &ports, &ready, &clock, delay_secs);
        Fixture { dax, net, ports, ready, clock, store, delay: delay_secs }
    }

    pub fn advance(&self, secs: i64) {
        self.clock.advance_secs(secs);
    }

    pub fn create(&self, region: &str, name: &str, rf: i64) -> Result<Cluster, DaxError> {
        self.dax.create_cluster(region, cluster_input(name, rf))
    }

    pub fn describe(&self, region: &str, name: &str) -> Result<Cluster, DaxError> {
        let page = self.dax.describe_clusters(
            region,
            &DescribeClustersInput { cluster_names: vec![name.to_owned()], ..Default::default() },
        )?;
        Ok(page.items.into_iter().next().expect("one cluster"))
    }

    pub fn messages(&self, region: &str) -> Vec<String> {
        let page = self.dax.describe_events(region, &DescribeEventsInput::default()).expect("events");
        page.items.into_iter().rev().map(|e| e.message).collect()
    }
}

fn open(
    store: &Arc<Store>,
    net: &Arc<FakeNet>,
    ports: &Arc<FakePorts>,
    ready: &Arc<FakeReadiness>,
    clock: &Arc<ManualClock>,
    delay: u64,
) -> DaxControl {
    let env = Env { clock: clock.clone(), ids: Arc::new(SeqIds::default()) };
    let deps =
        Deps { network: net.clone(), identity: Arc::new(FakeIam), ports: ports.clone(), readiness: ready.clone() };
    let config = Config { advertise_host: "127.0.0.1".to_owned(), provisioning_delay: Duration::from_secs(delay) };
    DaxControl::open(ACCOUNT, env, store.clone(), deps, config).expect("open")
}

pub fn cluster_input(name: &str, rf: i64) -> CreateClusterInput {
    CreateClusterInput {
        cluster_name: name.to_owned(),
        node_type: "dax.t3.small".to_owned(),
        replication_factor: rf,
        iam_role_arn: ROLE.to_owned(),
        ..Default::default()
    }
}

pub fn code<T: std::fmt::Debug>(r: Result<T, DaxError>) -> String {
    r.expect_err("expected an error").code().to_owned()
}

pub fn err<T: std::fmt::Debug>(r: Result<T, DaxError>) -> (String, String) {
    let e = r.expect_err("expected an error");
    (e.code().to_owned(), e.message().to_owned())
}

pub fn node_ids(c: &Cluster) -> Vec<String> {
    c.nodes.iter().flatten().map(|n| n.node_id.clone()).collect()
}

pub fn arn(region: &str, name: &str) -> String {
    format!("arn:aws:dax:{region}:{ACCOUNT}:cache/{name}")
}
