//! CloudWatch operations (`GraniteServiceVersion20100801`, signing name
//! `monitoring`, actions `cloudwatch:<Op>`): the metrics daxd records for
//! `AWS/DAX` and the alarms on them, translated to and from `cloudwatch`.
//!
//! CloudWatch is regional: each region is its own [`CloudWatch`], opened on
//! first use over the shared store ([`CloudWatches`]).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use base::Clock;
use cloudwatch::alarms::{AlarmFilter, HistoryRequest, PutAlarm};
use cloudwatch::query::{DataQuery, DataRequest, MetricStat};
use cloudwatch::{Alarm, AlarmState, CloudWatch, CwError, Dimension, DimensionFilter, ListMetrics, MetricId, Stat};
use serde_json::{json, Map, Value};
use state::Store;
use wire::AwsError;

use super::handler::{operations, Grant, Handler, Operation, Principal};
use super::input::In;
use super::Target;
use crate::services::Service;

operations! {
    /// The CloudWatch operations daxd serves.
    pub enum CloudWatchOp {
        ListMetrics, GetMetricStatistics, GetMetricData, PutMetricAlarm, DescribeAlarms, DescribeAlarmsForMetric,
        DeleteAlarms, SetAlarmState, DescribeAlarmHistory, EnableAlarmActions, DisableAlarmActions, TagResource,
        UntagResource, ListTagsForResource,
    }
}

/// One [`CloudWatch`] per region, opened on first use.
pub struct CloudWatches {
    clock: Arc<dyn Clock>,
    store: Arc<Store>,
    account: String,
    regions: Mutex<BTreeMap<String, Arc<CloudWatch>>>,
}

impl CloudWatches {
    #[must_use]
    pub fn new(clock: Arc<dyn Clock>, store: Arc<Store>, account: &str) -> Self {
        CloudWatches { clock, store, account: account.to_owned(), regions: Mutex::new(BTreeMap::new()) }
    }

    /// The region's CloudWatch.
    ///
    /// # Errors
    /// `InternalServiceError` when its records cannot be read.
    pub fn region(&self, region: &str) -> Result<Arc<CloudWatch>, CwError> {
        let mut regions = self.regions.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(cw) = regions.get(region) {
            return Ok(Arc::clone(cw));
        }
        let cw = Arc::new(CloudWatch::open(Arc::clone(&self.clock), Arc::clone(&self.store), &self.account, region)?);
        regions.insert(region.to_owned(), Arc::clone(&cw));
        Ok(cw)
    }

    /// Every region that holds records (the background tick evaluates their alarms).
    ///
    /// # Errors
    /// `InternalServiceError` when the store cannot be read.
    pub fn opened(&self) -> Result<Vec<Arc<CloudWatch>>, CwError> {
        cloudwatch::known_regions(&self.store)?.iter().map(|r| self.region(r)).collect()
    }

    /// Forget every region (after the store was wiped): they reopen empty.
    pub fn reset(&self) {
        self.regions.lock().unwrap_or_else(PoisonError::into_inner).clear();
    }
}

pub fn err(e: &CwError) -> AwsError {
    AwsError::new(e.status(), e.code(), e.message())
}

fn missing(member: &str) -> AwsError {
    AwsError::new(400, "MissingParameter", format!("The parameter {member} is required."))
}

fn refuse(op: &str, member: &str) -> AwsError {
    super::member_not_served("cloudwatch", op, member)
}

fn time(i: In, key: &str) -> Option<f64> {
    i.0.get(key).and_then(wire::timestamp::parse)
}

fn dimensions(v: &Value) -> Vec<Dimension> {
    In(v)
        .items("Dimensions")
        .iter()
        .map(|d| Dimension {
            name: d.get("Name").and_then(Value::as_str).unwrap_or_default().to_owned(),
            value: d.get("Value").and_then(Value::as_str).unwrap_or_default().to_owned(),
        })
        .collect()
}

/// The `Metric` shape (and the flat `Namespace`/`MetricName`/`Dimensions` members).
fn metric(v: &Value) -> MetricId {
    let i = In(v);
    MetricId::new(&i.s("Namespace"), &i.s("MetricName"), dimensions(v))
}

fn metric_out(m: &MetricId) -> Value {
    json!({
        "Namespace": m.namespace,
        "MetricName": m.name,
        "Dimensions": m.dimensions.iter().map(|d| json!({"Name": d.name, "Value": d.value})).collect::<Vec<_>>(),
    })
}

fn tags_in(i: In) -> Vec<(String, String)> {
    i.items("Tags")
        .iter()
        .map(|t| {
            (
                t.get("Key").and_then(Value::as_str).unwrap_or_default().to_owned(),
                t.get("Value").and_then(Value::as_str).unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// MetricDataQuery structures (GetMetricData's queries, an alarm's `Metrics`).
/// A query on another account's metrics is refused: daxd holds one account.
fn queries_in(op: &str, member: &str, account: &str, items: &[Value]) -> Result<Vec<DataQuery>, AwsError> {
    let mut queries = Vec::new();
    for q in items {
        let qi = In(q);
        if qi.o("AccountId").is_some_and(|a| a != account) {
            return Err(refuse(op, &format!("{member}.AccountId")));
        }
        let metric_stat = q.get("MetricStat").map(|ms| {
            let mi = In(ms);
            MetricStat {
                metric: metric(ms.get("Metric").unwrap_or(&Value::Null)),
                period: ms.get("Period").and_then(Value::as_i64).unwrap_or_default(),
                stat: mi.s("Stat"),
                unit: mi.o("Unit"),
            }
        });
        queries.push(DataQuery {
            id: qi.s("Id"),
            metric_stat,
            expression: qi.o("Expression"),
            label: qi.o("Label"),
            return_data: qi.bool("ReturnData"),
            period: q.get("Period").and_then(Value::as_i64),
        });
    }
    Ok(queries)
}

/// A MetricDataQuery as DescribeAlarms answers it.
fn query_out(q: &DataQuery) -> Value {
    let mut v = json!({"Id": q.id, "ReturnData": q.return_data.unwrap_or(true)});
    if let Some(ms) = &q.metric_stat {
        let mut stat = json!({"Metric": metric_out(&ms.metric), "Period": ms.period, "Stat": ms.stat});
        if let Some(u) = &ms.unit {
            stat["Unit"] = json!(u);
        }
        v["MetricStat"] = stat;
    }
    if let Some(e) = &q.expression {
        v["Expression"] = json!(e);
    }
    if let Some(l) = &q.label {
        v["Label"] = json!(l);
    }
    if let Some(p) = q.period {
        v["Period"] = json!(p);
    }
    v
}

fn alarm_out(a: &Alarm) -> Value {
    let mut v = json!({
        "AlarmName": a.name,
        "AlarmArn": a.arn,
        "AlarmConfigurationUpdatedTimestamp": a.configuration_updated,
        "ActionsEnabled": a.actions_enabled,
        "OKActions": a.ok_actions,
        "AlarmActions": a.alarm_actions,
        "InsufficientDataActions": a.insufficient_data_actions,
        "StateValue": a.state.name(),
        "StateReason": a.state_reason,
        "StateUpdatedTimestamp": a.state_updated,
        "StateTransitionedTimestamp": a.state_transitioned,
        "MetricName": a.metric.name,
        "Namespace": a.metric.namespace,
        "Dimensions": metric_out(&a.metric)["Dimensions"].clone(),
        "Period": a.period,
        "EvaluationPeriods": a.evaluation_periods,
        "Threshold": a.threshold,
        "ComparisonOperator": a.comparison.name(),
    });
    match a.stat {
        Stat::Standard(s) => v["Statistic"] = json!(s.name()),
        Stat::Percentile(_) => v["ExtendedStatistic"] = json!(a.stat.name()),
    }
    if let Some(d) = &a.description {
        v["AlarmDescription"] = json!(d);
    }
    if let Some(d) = &a.state_reason_data {
        v["StateReasonData"] = json!(d);
    }
    if let Some(u) = &a.unit {
        v["Unit"] = json!(u);
    }
    if let Some(m) = a.datapoints_to_alarm {
        v["DatapointsToAlarm"] = json!(m);
    }
    if let Some(t) = a.treat_missing_data {
        v["TreatMissingData"] = json!(t.name());
    }
    if let Some(e) = &a.evaluate_low_sample_count_percentile {
        v["EvaluateLowSampleCountPercentile"] = json!(e);
    }
    if !a.metrics.is_empty() {
        // An alarm on a metric-math expression names its metrics in `Metrics` only.
        if let Some(o) = v.as_object_mut() {
            for k in ["MetricName", "Namespace", "Period", "Statistic", "ExtendedStatistic"] {
                o.remove(k);
            }
        }
        v["Metrics"] = json!(a.metrics.iter().map(query_out).collect::<Vec<_>>());
    }
    v
}

fn next_token(v: &mut Value, token: Option<String>) {
    if let Some(t) = token {
        v["NextToken"] = json!(t);
    }
}

/// The alarm types a request asks for, as (metric alarms?, composite alarms?).
fn alarm_types(i: In) -> Result<(bool, bool), AwsError> {
    let types = i.list("AlarmTypes");
    if types.is_empty() {
        return Ok((true, false));
    }
    for t in &types {
        if t != "MetricAlarm" && t != "CompositeAlarm" {
            return Err(AwsError::new(
                400,
                "InvalidParameterValue",
                format!("The value {t} for AlarmTypes is not valid."),
            ));
        }
    }
    Ok((types.iter().any(|t| t == "MetricAlarm"), types.iter().any(|t| t == "CompositeAlarm")))
}

#[allow(clippy::too_many_lines)]
pub fn call(cw: &CloudWatch, account: &str, op: &str, raw: &Value) -> Result<Value, AwsError> {
    let i = In(raw);
    let e = |x: CwError| err(&x);
    match op {
        "ListMetrics" => {
            let mut req = ListMetrics {
                namespace: i.o("Namespace"),
                metric_name: i.o("MetricName"),
                dimensions: i
                    .items("Dimensions")
                    .iter()
                    .map(|d| DimensionFilter {
                        name: d.get("Name").and_then(Value::as_str).unwrap_or_default().to_owned(),
                        value: d.get("Value").and_then(Value::as_str).map(str::to_owned),
                    })
                    .collect(),
                recently_active: false,
                next_token: i.o("NextToken"),
            };
            match i.o("RecentlyActive").as_deref() {
                None => {}
                Some("PT3H") => req.recently_active = true,
                Some(other) => {
                    return Err(AwsError::new(
                        400,
                        "InvalidParameterValue",
                        format!("The value {other} for parameter RecentlyActive is not valid: it must be PT3H."),
                    ))
                }
            }
            // One account: linked accounts add nothing, another owning account holds nothing.
            let linked = i.bool("IncludeLinkedAccounts").unwrap_or(false);
            if i.o("OwningAccount").is_some_and(|a| a != account) {
                return Ok(json!({"Metrics": []}));
            }
            let page = cw.list_metrics(&req).map_err(e)?;
            let mut out = json!({"Metrics": page.items.iter().map(metric_out).collect::<Vec<_>>()});
            if linked {
                out["OwningAccounts"] = json!(vec![account; page.items.len()]);
            }
            next_token(&mut out, page.next_token);
            Ok(out)
        }
        "GetMetricStatistics" => {
            let req = cloudwatch::StatisticsRequest {
                metric: metric(raw),
                start: time(i, "StartTime").ok_or_else(|| missing("StartTime"))?,
                end: time(i, "EndTime").ok_or_else(|| missing("EndTime"))?,
                period: i.0.get("Period").and_then(Value::as_i64).ok_or_else(|| missing("Period"))?,
                statistics: i.list("Statistics"),
                extended_statistics: i.list("ExtendedStatistics"),
                unit: i.o("Unit"),
            };
            let points = cw.get_metric_statistics(&req).map_err(e)?;
            let datapoints: Vec<Value> = points
                .iter()
                .map(|p| {
                    let mut d = Map::new();
                    d.insert("Timestamp".into(), json!(p.timestamp));
                    for (s, v) in &p.statistics {
                        d.insert(s.name().into(), json!(v));
                    }
                    if !p.extended.is_empty() {
                        let ext: Map<String, Value> = p.extended.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
                        d.insert("ExtendedStatistics".into(), Value::Object(ext));
                    }
                    d.insert("Unit".into(), json!(p.unit));
                    Value::Object(d)
                })
                .collect();
            Ok(json!({"Label": req.metric.name, "Datapoints": datapoints}))
        }
        "GetMetricData" => {
            let queries = queries_in(op, "MetricDataQueries", account, &i.items("MetricDataQueries"))?;
            let ascending = match i.o("ScanBy").as_deref() {
                None | Some("TimestampDescending") => false,
                Some(_) => true,
            };
            let req = DataRequest {
                queries,
                start: time(i, "StartTime").ok_or_else(|| missing("StartTime"))?,
                end: time(i, "EndTime").ok_or_else(|| missing("EndTime"))?,
                next_token: i.o("NextToken"),
                ascending,
                max_datapoints: i.0.get("MaxDatapoints").and_then(Value::as_i64),
                timezone: i.0.get("LabelOptions").and_then(|l| In(l).o("Timezone")),
            };
            let answer = cw.get_metric_data(&req).map_err(e)?;
            let results: Vec<Value> = answer
                .results
                .iter()
                .map(|r| {
                    json!({
                        "Id": r.id,
                        "Label": r.label,
                        "Timestamps": r.timestamps,
                        "Values": r.values,
                        "StatusCode": r.status_code,
                    })
                })
                .collect();
            let mut out = json!({"MetricDataResults": results, "Messages": []});
            next_token(&mut out, answer.next_token);
            Ok(out)
        }
        "PutMetricAlarm" => {
            for member in [
                "ThresholdMetricId",
                "EvaluationWindow",
                "WarmUpConfiguration",
                "EvaluationCriteria",
                "EvaluationInterval",
                "ActionConfiguration",
            ] {
                if i.0.get(member).is_some() {
                    return Err(refuse(op, member));
                }
            }
            let req = PutAlarm {
                name: i.s("AlarmName"),
                description: i.o("AlarmDescription"),
                actions_enabled: i.bool("ActionsEnabled"),
                ok_actions: i.list("OKActions"),
                alarm_actions: i.list("AlarmActions"),
                insufficient_data_actions: i.list("InsufficientDataActions"),
                namespace: i.o("Namespace"),
                metric_name: i.o("MetricName"),
                dimensions: dimensions(raw),
                statistic: i.o("Statistic"),
                extended_statistic: i.o("ExtendedStatistic"),
                period: i.0.get("Period").and_then(Value::as_i64),
                unit: i.o("Unit"),
                evaluation_periods: i
                    .0
                    .get("EvaluationPeriods")
                    .and_then(Value::as_i64)
                    .ok_or_else(|| missing("EvaluationPeriods"))?,
                datapoints_to_alarm: i.0.get("DatapointsToAlarm").and_then(Value::as_i64),
                threshold: i.0.get("Threshold").and_then(Value::as_f64),
                comparison: i.o("ComparisonOperator").ok_or_else(|| missing("ComparisonOperator"))?,
                treat_missing_data: i.o("TreatMissingData"),
                evaluate_low_sample_count_percentile: i.o("EvaluateLowSampleCountPercentile"),
                tags: tags_in(i),
                metrics: queries_in(op, "Metrics", account, &i.items("Metrics"))?,
            };
            cw.put_metric_alarm(&req).map_err(e)?;
            Ok(json!({}))
        }
        "DescribeAlarms" => {
            let (metric_alarms, _composite) = alarm_types(i)?;
            // daxd has no composite alarms: none is a child's parent or has children.
            let related = i.o("ChildrenOfAlarmName").or(i.o("ParentsOfAlarmName")).is_some();
            let state = match i.o("StateValue") {
                None => None,
                Some(s) => Some(AlarmState::of(&s).ok_or_else(|| {
                    AwsError::new(400, "InvalidParameterValue", format!("The value {s} for StateValue is not valid."))
                })?),
            };
            let filter = AlarmFilter {
                names: i.list("AlarmNames"),
                prefix: i.o("AlarmNamePrefix"),
                state,
                action_prefix: i.o("ActionPrefix"),
            };
            let max = i.0.get("MaxRecords").and_then(Value::as_i64);
            let page = cw.describe_alarms(&filter, max, i.o("NextToken").as_deref()).map_err(e)?;
            let alarms: Vec<Value> =
                if metric_alarms && !related { page.items.iter().map(alarm_out).collect() } else { Vec::new() };
            let mut out = json!({"MetricAlarms": alarms, "CompositeAlarms": []});
            if metric_alarms && !related {
                next_token(&mut out, page.next_token);
            }
            Ok(out)
        }
        "DescribeAlarmsForMetric" => {
            let stat = match (i.o("Statistic"), i.o("ExtendedStatistic")) {
                (Some(s), _) | (None, Some(s)) => Some(Stat::of(&s).map_err(e)?),
                (None, None) => None,
            };
            let period = i.0.get("Period").and_then(Value::as_i64);
            let alarms = cw.describe_alarms_for_metric(&metric(raw), stat, period, i.o("Unit").as_deref());
            Ok(json!({"MetricAlarms": alarms.iter().map(alarm_out).collect::<Vec<_>>()}))
        }
        "DeleteAlarms" => {
            cw.delete_alarms(&i.list("AlarmNames")).map_err(e)?;
            Ok(json!({}))
        }
        "EnableAlarmActions" => {
            cw.set_actions_enabled(&i.list("AlarmNames"), true).map_err(e)?;
            Ok(json!({}))
        }
        "DisableAlarmActions" => {
            cw.set_actions_enabled(&i.list("AlarmNames"), false).map_err(e)?;
            Ok(json!({}))
        }
        "SetAlarmState" => {
            let value = i.s("StateValue");
            let state = AlarmState::of(&value).ok_or_else(|| {
                AwsError::new(400, "InvalidParameterValue", format!("The value {value} for StateValue is not valid."))
            })?;
            cw.set_alarm_state(&i.s("AlarmName"), state, &i.s("StateReason"), i.o("StateReasonData").as_deref())
                .map_err(e)?;
            Ok(json!({}))
        }
        "DescribeAlarmHistory" => {
            let (metric_alarms, _composite) = alarm_types(i)?;
            // Alarm contributors belong to multi-time-series alarms, which daxd does not have.
            let contributor = i.o("AlarmContributorId").is_some();
            let req = HistoryRequest {
                alarm_name: i.o("AlarmName"),
                item_type: i.o("HistoryItemType"),
                start: time(i, "StartDate"),
                end: time(i, "EndDate"),
                max_records: i.0.get("MaxRecords").and_then(Value::as_i64),
                next_token: i.o("NextToken"),
                ascending: i.o("ScanBy").as_deref() == Some("TimestampAscending"),
            };
            let page = cw.describe_alarm_history(&req).map_err(e)?;
            if !metric_alarms || contributor {
                return Ok(json!({"AlarmHistoryItems": []}));
            }
            let items: Vec<Value> = page
                .items
                .iter()
                .map(|h| {
                    json!({
                        "AlarmName": h.alarm_name,
                        "AlarmType": h.alarm_type,
                        "Timestamp": h.timestamp,
                        "HistoryItemType": h.item_type,
                        "HistorySummary": h.summary,
                        "HistoryData": h.data,
                    })
                })
                .collect();
            let mut out = json!({"AlarmHistoryItems": items});
            next_token(&mut out, page.next_token);
            Ok(out)
        }
        "TagResource" => {
            cw.tag_resource(&i.s("ResourceARN"), &tags_in(i)).map_err(e)?;
            Ok(json!({}))
        }
        "UntagResource" => {
            cw.untag_resource(&i.s("ResourceARN"), &i.list("TagKeys")).map_err(e)?;
            Ok(json!({}))
        }
        "ListTagsForResource" => {
            let tags = cw.list_tags(&i.s("ResourceARN")).map_err(e)?;
            Ok(json!({"Tags": tags.iter().map(|(k, v)| json!({"Key": k, "Value": v})).collect::<Vec<_>>()}))
        }
        _ => Err(super::not_served("cloudwatch", op)),
    }
}

/// What a CloudWatch action is authorized on: the alarms an operation names
/// (by name, or by ARN for the tag operations), else `*`; with the request's tags.
fn targets(account: &str, region: &str, op: CloudWatchOp, input: &Value) -> Vec<Target> {
    let i = In(input);
    let arn = |name: &str| format!("arn:aws:cloudwatch:{region}:{account}:alarm:{name}");
    let resources: Vec<String> = match op {
        CloudWatchOp::PutMetricAlarm | CloudWatchOp::SetAlarmState => vec![arn(&i.s("AlarmName"))],
        CloudWatchOp::DeleteAlarms | CloudWatchOp::EnableAlarmActions | CloudWatchOp::DisableAlarmActions => {
            i.list("AlarmNames").iter().map(|n| arn(n)).collect()
        }
        CloudWatchOp::TagResource | CloudWatchOp::UntagResource | CloudWatchOp::ListTagsForResource => {
            vec![i.s("ResourceARN")]
        }
        _ => Vec::new(),
    };
    let resources = if resources.is_empty() { vec!["*".to_owned()] } else { resources };
    resources
        .iter()
        .map(|r| {
            let mut t = Target::new("cloudwatch", op.name(), r);
            for (k, v) in tags_in(i) {
                t.context.push((format!("aws:RequestTag/{k}"), v));
                t.tag_keys.push(k);
            }
            t.tag_keys.extend(i.list("TagKeys"));
            t
        })
        .collect()
}

/// CloudWatch's handler. Its impl comes after `call` (the input-member walk of
/// `tests/repo/input_members.rs` reads the first `fn call` of a file).
pub struct CloudWatchApi {
    pub cw: Arc<CloudWatches>,
}

impl Handler for CloudWatchApi {
    type Op = CloudWatchOp;
    const SERVICE: Service = Service::CloudWatch;
    const BLOCKING: bool = true;

    async fn targets(&self, op: CloudWatchOp, input: &Value, who: &Principal<'_>) -> Vec<Target> {
        targets(who.account, who.region, op, input)
    }

    async fn call(
        &self,
        op: CloudWatchOp,
        input: Value,
        who: &Principal<'_>,
        _grant: &Grant<'_>,
    ) -> Result<Value, AwsError> {
        let cw = self.cw.region(who.region).map_err(|x| err(&x))?;
        call(&cw, who.account, op.name(), &input)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_are_the_models() {
        assert_eq!(super::super::handler::tests::check_operations::<CloudWatchApi>(), 14);
    }

    #[test]
    fn alarm_operations_target_their_alarms() {
        let input = json!({"AlarmNames": ["a", "b"]});
        let t = targets("123456789012", "us-east-1", CloudWatchOp::DeleteAlarms, &input);
        let r: Vec<&str> = t.iter().map(|t| t.resource.as_str()).collect();
        assert_eq!(
            r,
            vec![
                "arn:aws:cloudwatch:us-east-1:123456789012:alarm:a",
                "arn:aws:cloudwatch:us-east-1:123456789012:alarm:b"
            ]
        );
        assert_eq!(t[0].action, "cloudwatch:DeleteAlarms");
        let t = targets("123456789012", "us-east-1", CloudWatchOp::ListMetrics, &json!({}));
        assert_eq!(t[0].resource, "*");
    }
}
