//! Unit tests of the service over an in-memory or on-disk store and a manual clock.

use std::sync::Arc;

use base::ManualClock;
use state::Store;

use super::*;
use crate::alarms::{AlarmFilter, HistoryRequest, PutAlarm};
use crate::query::{DataQuery, DataRequest, MetricStat};

/// 2026-01-01T00:00:00Z, a whole hour.
const T0: i64 = 1_767_225_600;

fn service() -> (Arc<ManualClock>, Arc<Store>, CloudWatch) {
    let clock = Arc::new(ManualClock::at(T0));
    let store = Arc::new(Store::in_memory().unwrap());
    let cw = CloudWatch::open(clock.clone(), store.clone(), "123456789012", "us-east-1").unwrap();
    (clock, store, cw)
}

fn metric(name: &str, cluster: &str) -> MetricId {
    MetricId::new("AWS/DAX", name, vec![Dimension::new("ClusterId", cluster)])
}

fn put(cw: &CloudWatch, m: &MetricId, t: i64, v: f64) {
    #[allow(clippy::cast_precision_loss)]
    let timestamp = t as f64;
    cw.put_metric_data(&[Datum { metric: m.clone(), timestamp, value: DatumValue::Value(v), unit: "Count".into() }])
        .unwrap();
}

fn stats(m: &MetricId, start: i64, end: i64, period: i64, s: &[&str], e: &[&str]) -> StatisticsRequest {
    #[allow(clippy::cast_precision_loss)]
    StatisticsRequest {
        metric: m.clone(),
        start: start as f64,
        end: end as f64,
        period,
        statistics: s.iter().map(|x| (*x).to_owned()).collect(),
        extended_statistics: e.iter().map(|x| (*x).to_owned()).collect(),
        unit: None,
    }
}

#[test]
fn statistics_per_period() {
    let (clock, _, cw) = service();
    clock.advance_secs(3_600);
    let m = metric("GetItemRequestCount", "c1");
    for (k, v) in [1.0, 2.0, 3.0, 4.0, 10.0].iter().enumerate() {
        put(&cw, &m, T0 + 60 * i64::try_from(k).unwrap(), *v);
    }
    let all = ["SampleCount", "Average", "Sum", "Minimum", "Maximum"];
    let got = cw.get_metric_statistics(&stats(&m, T0, T0 + 300, 300, &all, &[])).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].timestamp, T0);
    assert_eq!(got[0].unit, "Count");
    let v: Vec<f64> = got[0].statistics.iter().map(|(_, v)| *v).collect();
    assert_eq!(v, vec![5.0, 4.0, 20.0, 1.0, 10.0]);
    let per_minute = cw.get_metric_statistics(&stats(&m, T0, T0 + 300, 60, &["Sum"], &[])).unwrap();
    assert_eq!(per_minute.len(), 5);
    let p = cw.get_metric_statistics(&stats(&m, T0, T0 + 300, 300, &[], &["p50", "p100"])).unwrap();
    assert_eq!(p[0].extended, vec![("p50".to_owned(), 3.0), ("p100".to_owned(), 10.0)]);
    // EndTime is exclusive.
    assert!(cw.get_metric_statistics(&stats(&m, T0, T0 + 60, 60, &["Sum"], &[])).unwrap()[0].statistics[0].1 == 1.0);
    // Another dimension set is another metric.
    let none = cw.get_metric_statistics(&stats(&metric("GetItemRequestCount", "c2"), T0, T0 + 300, 60, &["Sum"], &[]));
    assert_eq!(none.unwrap(), vec![]);
}

#[test]
fn statistics_requests_are_checked() {
    let (_, _, cw) = service();
    let m = metric("X", "c");
    let cases: Vec<(StatisticsRequest, &str)> = vec![
        (stats(&m, T0, T0 + 60, 60, &[], &[]), "MissingParameter"),
        (stats(&m, T0, T0 + 60, 60, &["Sum"], &["p9"]), "InvalidParameterCombination"),
        (stats(&m, T0, T0 + 60, 61, &["Sum"], &[]), "InvalidParameterValue"),
        (stats(&m, T0, T0 + 60, 0, &["Sum"], &[]), "InvalidParameterValue"),
        (stats(&m, T0, T0 + 60, 60, &["sum"], &[]), "InvalidParameterValue"),
        (stats(&m, T0, T0 + 60, 60, &[], &["p101"]), "InvalidParameterValue"),
        (stats(&m, T0, T0, 60, &["Sum"], &[]), "InvalidParameterValue"),
        (stats(&m, T0 - 86_400, T0, 1, &["Sum"], &[]), "InvalidParameterCombination"),
    ];
    for (req, code) in cases {
        assert_eq!(cw.get_metric_statistics(&req).unwrap_err().code(), code, "{req:?}");
    }
    let e = cw.get_metric_statistics(&stats(&m, T0 - 86_400, T0, 1, &["Sum"], &[])).unwrap_err();
    assert!(e.message().starts_with("You have requested up to 86400 datapoints, which exceeds the limit of 1440."));
}

#[test]
fn puts_are_checked_and_bounded_in_time() {
    let (_, _, cw) = service();
    let m = metric("X", "c");
    let at = |t: i64, v: f64| {
        #[allow(clippy::cast_precision_loss)]
        let timestamp = t as f64;
        [Datum { metric: m.clone(), timestamp, value: DatumValue::Value(v), unit: "Count".into() }]
    };
    assert_eq!(cw.put_metric_data(&at(T0 - 15 * 86_400, 1.0)).unwrap_err().code(), "InvalidParameterValue");
    assert_eq!(cw.put_metric_data(&at(T0 + 3 * 3_600, 1.0)).unwrap_err().code(), "InvalidParameterValue");
    assert_eq!(cw.put_metric_data(&at(T0, f64::NAN)).unwrap_err().code(), "InvalidParameterValue");
    assert!(cw.put_metric_data(&at(T0, 1.0)).is_ok());
}

#[test]
fn list_metrics_filters_and_pages() {
    let (_, _, cw) = service();
    let mut data = Vec::new();
    for c in 0..3 {
        for name in ["GetItemRequestCount", "PutItemRequestCount"] {
            let cluster = format!("c{c}");
            data.push(metric(name, &cluster));
            data.push(MetricId::new(
                "AWS/DAX",
                name,
                vec![Dimension::new("ClusterId", &cluster), Dimension::new("NodeId", &format!("{cluster}-a"))],
            ));
        }
    }
    #[allow(clippy::cast_precision_loss)]
    let batch: Vec<Datum> = data
        .iter()
        .map(|m| Datum { metric: m.clone(), timestamp: T0 as f64, value: DatumValue::Value(1.0), unit: "Count".into() })
        .collect();
    cw.put_metric_data(&batch).unwrap();
    let list = |req: ListMetrics| cw.list_metrics(&req).unwrap().items.len();
    assert_eq!(list(ListMetrics::default()), 12);
    assert_eq!(list(ListMetrics { metric_name: Some("GetItemRequestCount".into()), ..Default::default() }), 6);
    assert_eq!(list(ListMetrics { namespace: Some("AWS/DynamoDB".into()), ..Default::default() }), 0);
    let by_node = DimensionFilter { name: "NodeId".into(), value: None };
    assert_eq!(list(ListMetrics { dimensions: vec![by_node], ..Default::default() }), 6);
    let by_cluster = DimensionFilter { name: "ClusterId".into(), value: Some("c1".into()) };
    assert_eq!(list(ListMetrics { dimensions: vec![by_cluster], ..Default::default() }), 4);
    assert_eq!(list(ListMetrics { recently_active: true, ..Default::default() }), 12);
    let bad = ListMetrics { next_token: Some("zz".into()), ..Default::default() };
    assert_eq!(cw.list_metrics(&bad).unwrap_err().code(), "InvalidNextToken");
}

#[test]
fn minute_data_rolls_up_to_five_minutes_and_survives_restart() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::at(T0));
    let m = metric("EvictedSize", "c1");
    {
        let store = Arc::new(Store::open(&dir.path().join("s.db")).unwrap());
        let cw = CloudWatch::open(clock.clone(), store, "123456789012", "us-east-1").unwrap();
        for k in 0..10 {
            put(&cw, &m, T0 + 60 * k, 1.0);
        }
        cw.tick().unwrap();
    }
    let store = Arc::new(Store::open(&dir.path().join("s.db")).unwrap());
    let cw = CloudWatch::open(clock.clone(), store.clone(), "123456789012", "us-east-1").unwrap();
    assert_eq!(cw.get_metric_statistics(&stats(&m, T0, T0 + 600, 60, &["Sum"], &[])).unwrap().len(), 10);
    // Sixteen days on, the minutes are five-minute buckets: two of them.
    clock.advance_secs(16 * 86_400);
    cw.tick().unwrap();
    assert_eq!(cw.get_metric_statistics(&stats(&m, T0, T0 + 600, 60, &["Sum"], &[])).unwrap(), vec![]);
    let fives = cw.get_metric_statistics(&stats(&m, T0, T0 + 600, 300, &["Sum", "SampleCount"], &[])).unwrap();
    assert_eq!(fives.len(), 2);
    assert_eq!(fives[0].statistics, vec![(Statistic::Sum, 5.0), (Statistic::SampleCount, 5.0)]);
    let reopened = CloudWatch::open(clock.clone(), store.clone(), "123456789012", "us-east-1").unwrap();
    assert_eq!(reopened.get_metric_statistics(&stats(&m, T0, T0 + 600, 300, &["Sum"], &[])).unwrap().len(), 2);
    // Past 63 days nothing is left, in memory or on disk.
    clock.advance_secs(48 * 86_400);
    cw.tick().unwrap();
    assert_eq!(cw.get_metric_statistics(&stats(&m, T0, T0 + 600, 300, &["Sum"], &[])).unwrap(), vec![]);
    assert!(store.scan("cloudwatch.us-east-1.fives").unwrap().is_empty());
    assert!(store.scan("cloudwatch.us-east-1.minutes").unwrap().is_empty());
    assert!(store.scan("cloudwatch.us-east-1.series").unwrap().is_empty());
}

#[test]
fn a_failed_write_changes_nothing() {
    let (_, store, cw) = service();
    let m = metric("X", "c");
    store.fail_next_apply();
    #[allow(clippy::cast_precision_loss)]
    let d = [Datum { metric: m.clone(), timestamp: T0 as f64, value: DatumValue::Value(1.0), unit: "Count".into() }];
    assert_eq!(cw.put_metric_data(&d).unwrap_err().code(), "InternalServiceError");
    assert_eq!(cw.list_metrics(&ListMetrics::default()).unwrap().items.len(), 0);
}

fn q(id: &str, m: Option<&MetricId>, expr: Option<&str>) -> DataQuery {
    DataQuery {
        id: id.into(),
        metric_stat: m.map(|m| MetricStat { metric: m.clone(), period: 60, stat: "Sum".into(), unit: None }),
        expression: expr.map(Into::into),
        label: None,
        return_data: Some(expr.is_some()),
        period: None,
    }
}

#[test]
fn get_metric_data_with_expressions_and_paging() {
    let (clock, _, cw) = service();
    clock.advance_secs(600);
    let hits = metric("ItemCacheHits", "c");
    let misses = metric("ItemCacheMisses", "c");
    for k in 0..4 {
        put(&cw, &hits, T0 + 60 * k, 3.0);
        put(&cw, &misses, T0 + 60 * k, 1.0);
    }
    #[allow(clippy::cast_precision_loss)]
    let mut req = DataRequest {
        queries: vec![
            q("h", Some(&hits), None),
            q("m", Some(&misses), None),
            q("ratio", None, Some("100 * m / (h + m)")),
            q("total", None, Some("SUM(METRICS())")),
        ],
        start: T0 as f64,
        end: (T0 + 240) as f64,
        next_token: None,
        ascending: false,
        max_datapoints: None,
        timezone: None,
    };
    let a = cw.get_metric_data(&req).unwrap();
    assert_eq!(a.results.len(), 2);
    assert_eq!(a.results[0].id, "ratio");
    assert_eq!(a.results[0].values, vec![25.0; 4]);
    assert_eq!(a.results[0].timestamps, vec![T0 + 180, T0 + 120, T0 + 60, T0]);
    assert_eq!(a.results[1].values, vec![4.0; 4]);
    assert_eq!(a.next_token, None);
    // Three datapoints a page, ascending.
    req.ascending = true;
    req.max_datapoints = Some(3);
    let first = cw.get_metric_data(&req).unwrap();
    assert_eq!(first.results[0].timestamps, vec![T0, T0 + 60, T0 + 120]);
    assert_eq!(first.results[0].status_code, "PartialData");
    req.next_token = first.next_token;
    let second = cw.get_metric_data(&req).unwrap();
    assert_eq!(second.results[0].timestamps, vec![T0 + 180]);
    assert_eq!(second.results[1].timestamps, vec![T0, T0 + 60]);
    for (bad, code) in [("m +", "ValidationError"), ("nope", "ValidationError")] {
        let mut r = req.clone();
        r.next_token = None;
        r.queries[2].expression = Some(bad.into());
        assert_eq!(cw.get_metric_data(&r).unwrap_err().code(), code, "{bad}");
    }
    let mut same = req.clone();
    same.end = same.start;
    assert_eq!(
        cw.get_metric_data(&same).unwrap_err().message(),
        "The parameter StartTime must not equal parameter EndTime."
    );
}

fn alarm(
    name: &str,
    m: &MetricId,
    cmp: &str,
    threshold: f64,
    n: i64,
    dta: Option<i64>,
    treat: Option<&str>,
) -> PutAlarm {
    PutAlarm {
        name: name.into(),
        namespace: Some(m.namespace.clone()),
        metric_name: Some(m.name.clone()),
        dimensions: m.dimensions.clone(),
        statistic: Some("Sum".into()),
        period: Some(60),
        evaluation_periods: n,
        datapoints_to_alarm: dta,
        threshold: Some(threshold),
        comparison: cmp.into(),
        treat_missing_data: treat.map(Into::into),
        alarm_actions: vec!["arn:aws:sns:us-east-1:123456789012:ops".into()],
        ..Default::default()
    }
}

fn state_of(cw: &CloudWatch, name: &str) -> Alarm {
    cw.describe_alarms(&AlarmFilter { names: vec![name.into()], ..Default::default() }, None, None).unwrap().items[0]
        .clone()
}

#[test]
fn every_comparison_operator() {
    // (operator, value, threshold, breaching?)
    let cases = [
        ("GreaterThanThreshold", 5.0, 5.0, false),
        ("GreaterThanThreshold", 6.0, 5.0, true),
        ("GreaterThanOrEqualToThreshold", 5.0, 5.0, true),
        ("GreaterThanOrEqualToThreshold", 4.0, 5.0, false),
        ("LessThanThreshold", 5.0, 5.0, false),
        ("LessThanThreshold", 4.0, 5.0, true),
        ("LessThanOrEqualToThreshold", 5.0, 5.0, true),
        ("LessThanOrEqualToThreshold", 6.0, 5.0, false),
    ];
    for (op, v, th, breach) in cases {
        let (clock, _, cw) = service();
        let m = metric("ThrottledRequestCount", "c");
        cw.put_metric_alarm(&alarm("a", &m, op, th, 1, None, None)).unwrap();
        assert_eq!(state_of(&cw, "a").state, AlarmState::InsufficientData);
        assert_eq!(state_of(&cw, "a").state_reason, "Unchecked: Initial alarm creation");
        put(&cw, &m, T0, v);
        clock.advance_secs(60);
        cw.tick().unwrap();
        let a = state_of(&cw, "a");
        let want = if breach { AlarmState::Alarm } else { AlarmState::Ok };
        assert_eq!(a.state, want, "{op} {v} {th}");
        let words = Comparison::ALL.into_iter().find(|c| c.name() == op).unwrap().words();
        let not = if breach { "" } else { "not " };
        let expected = format!(
            "Threshold Crossed: 1 out of the last 1 datapoints [{v:?} (01/01/26 00:00:00)] was {not}{words} the \
             threshold ({th:?}) (minimum 1 datapoint for INSUFFICIENT_DATA -> {} transition).",
            want.name()
        );
        assert_eq!(a.state_reason, expected);
        let data: serde_json::Value = serde_json::from_str(a.state_reason_data.as_deref().unwrap()).unwrap();
        assert_eq!(data["statistic"], "Sum");
        assert_eq!(data["recentDatapoints"], serde_json::json!([v]));
        assert_eq!(data["threshold"], serde_json::json!(th));
    }
}

#[test]
fn m_out_of_n_and_missing_data() {
    // Values of the last three minutes, oldest first (None: no datapoint), M, TreatMissingData, state.
    type Case<'a> = (&'a [Option<f64>], i64, Option<&'a str>, AlarmState);
    let cases: &[Case<'_>] = &[
        (&[Some(9.0), Some(0.0), Some(9.0)], 2, None, AlarmState::Alarm),
        (&[Some(9.0), Some(0.0), Some(0.0)], 2, None, AlarmState::Ok),
        (&[None, None, None], 2, None, AlarmState::InsufficientData),
        (&[None, None, None], 2, Some("missing"), AlarmState::InsufficientData),
        (&[None, None, None], 2, Some("ignore"), AlarmState::InsufficientData),
        (&[None, None, None], 2, Some("breaching"), AlarmState::Alarm),
        (&[None, None, None], 2, Some("notBreaching"), AlarmState::Ok),
        (&[Some(9.0), None, None], 2, Some("breaching"), AlarmState::Alarm),
        (&[Some(9.0), None, None], 2, Some("notBreaching"), AlarmState::Ok),
        (&[Some(9.0), None, Some(9.0)], 2, Some("missing"), AlarmState::Alarm),
        (&[Some(0.0), None, None], 1, Some("ignore"), AlarmState::Ok),
    ];
    for (values, m_of, treat, want) in cases {
        let (clock, _, cw) = service();
        let m = metric("CPUUtilization", "c");
        cw.put_metric_alarm(&alarm("a", &m, "GreaterThanThreshold", 5.0, 3, Some(*m_of), *treat)).unwrap();
        for (k, v) in values.iter().enumerate() {
            if let Some(v) = v {
                put(&cw, &m, T0 + 60 * i64::try_from(k).unwrap(), *v);
            }
        }
        clock.advance_secs(180);
        cw.tick().unwrap();
        assert_eq!(state_of(&cw, "a").state, *want, "{values:?} M={m_of} {treat:?}");
    }
    let (_, _, cw) = service();
    let m = metric("CPUUtilization", "c");
    assert_eq!(
        cw.put_metric_alarm(&alarm("a", &m, "GreaterThanThreshold", 5.0, 3, Some(4), None)).unwrap_err().message(),
        "DatapointsToAlarm must be less than or equal to EvaluationPeriods"
    );
}

#[test]
fn alarm_requests_are_checked() {
    let (_, _, cw) = service();
    let m = metric("CPUUtilization", "c");
    let base = alarm("a", &m, "GreaterThanThreshold", 5.0, 1, None, None);
    let cases: Vec<(PutAlarm, &str)> = vec![
        (PutAlarm { period: Some(45), ..base.clone() }, "InvalidParameterValue"),
        (PutAlarm { evaluation_periods: 0, ..base.clone() }, "InvalidParameterValue"),
        (PutAlarm { evaluation_periods: 1_441, ..base.clone() }, "InvalidParameterCombination"),
        (PutAlarm { comparison: "Bigger".into(), ..base.clone() }, "InvalidParameterValue"),
        (PutAlarm { comparison: "GreaterThanUpperThreshold".into(), ..base.clone() }, "InvalidParameterCombination"),
        (PutAlarm { treat_missing_data: Some("zero".into()), ..base.clone() }, "InvalidParameterValue"),
        (PutAlarm { threshold: None, ..base.clone() }, "MissingParameter"),
        (PutAlarm { extended_statistic: Some("p99".into()), ..base.clone() }, "InvalidParameterCombination"),
        (PutAlarm { alarm_actions: vec!["topic".into()], ..base.clone() }, "InvalidParameterValue"),
        (PutAlarm { alarm_actions: vec![base.alarm_actions[0].clone(); 6], ..base.clone() }, "LimitExceeded"),
    ];
    for (req, code) in cases {
        assert_eq!(cw.put_metric_alarm(&req).unwrap_err().code(), code, "{req:?}");
    }
}

#[test]
fn history_state_changes_actions_and_tags() {
    let (clock, store, cw) = service();
    let m = metric("ThrottledRequestCount", "c");
    let mut req = alarm("t", &m, "GreaterThanThreshold", 0.0, 1, None, Some("notBreaching"));
    req.tags = vec![("team".into(), "db".into())];
    cw.put_metric_alarm(&req).unwrap();
    put(&cw, &m, T0, 3.0);
    clock.advance_secs(60);
    cw.tick().unwrap();
    assert_eq!(state_of(&cw, "t").state, AlarmState::Alarm);
    // The datapoint decides while it is in the evaluation range (1 + 2 periods).
    clock.advance_secs(120);
    cw.tick().unwrap();
    assert_eq!(state_of(&cw, "t").state, AlarmState::Alarm);
    clock.advance_secs(60);
    cw.tick().unwrap();
    assert_eq!(state_of(&cw, "t").state, AlarmState::Ok);
    let h = cw.describe_alarm_history(&HistoryRequest { alarm_name: Some("t".into()), ..Default::default() }).unwrap();
    let kinds: Vec<(&str, &str)> = h.items.iter().map(|i| (i.item_type.as_str(), i.summary.as_str())).collect();
    assert_eq!(
        kinds,
        vec![
            ("StateUpdate", "Alarm updated from ALARM to OK"),
            ("Action", "Failed to execute action arn:aws:sns:us-east-1:123456789012:ops"),
            ("StateUpdate", "Alarm updated from INSUFFICIENT_DATA to ALARM"),
            ("ConfigurationUpdate", "Alarm \"t\" created"),
        ]
    );
    let update: serde_json::Value = serde_json::from_str(&h.items[2].data).unwrap();
    assert_eq!(update["oldState"]["stateValue"], "INSUFFICIENT_DATA");
    assert_eq!(update["newState"]["stateValue"], "ALARM");
    // SetAlarmState lasts until the next evaluation; with actions disabled none is recorded.
    cw.set_actions_enabled(&["t".into()], false).unwrap();
    assert_eq!(cw.set_alarm_state("t", AlarmState::Alarm, "test", Some("{bad")).unwrap_err().code(), "InvalidFormat");
    assert_eq!(cw.set_alarm_state("nope", AlarmState::Alarm, "test", None).unwrap_err().code(), "ResourceNotFound");
    cw.set_alarm_state("t", AlarmState::Alarm, "testing", Some("{}")).unwrap();
    assert_eq!(state_of(&cw, "t").state_reason, "testing");
    clock.advance_secs(60);
    cw.tick().unwrap();
    assert_eq!(state_of(&cw, "t").state, AlarmState::Ok);
    let actions = HistoryRequest { item_type: Some("Action".into()), ..Default::default() };
    assert_eq!(cw.describe_alarm_history(&actions).unwrap().items.len(), 1);
    // Tags.
    let arn = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:t";
    cw.tag_resource(arn, &[("env".into(), "prod".into())]).unwrap();
    cw.untag_resource(arn, &["team".into()]).unwrap();
    assert_eq!(cw.list_tags(arn).unwrap().into_iter().collect::<Vec<_>>(), vec![("env".into(), "prod".into())]);
    let missing = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:nope";
    assert_eq!(cw.list_tags(missing).unwrap_err().code(), "ResourceNotFoundException");
    // Restart keeps the alarm, its state and its history.
    let reopened = CloudWatch::open(clock.clone(), store.clone(), "123456789012", "us-east-1").unwrap();
    assert_eq!(state_of(&reopened, "t"), state_of(&cw, "t"));
    assert_eq!(reopened.describe_alarm_history(&HistoryRequest::default()).unwrap().items.len(), 6);
    // Deleting keeps the history; deleting a missing alarm deletes nothing.
    assert_eq!(cw.delete_alarms(&["t".into(), "nope".into()]).unwrap_err().code(), "ResourceNotFound");
    cw.delete_alarms(&["t".into()]).unwrap();
    assert!(cw.describe_alarms(&AlarmFilter::default(), None, None).unwrap().items.is_empty());
    assert_eq!(cw.describe_alarm_history(&HistoryRequest::default()).unwrap().items.len(), 7);
    // Two weeks on, the history is gone.
    clock.advance_secs(15 * 86_400);
    cw.tick().unwrap();
    assert!(cw.describe_alarm_history(&HistoryRequest::default()).unwrap().items.is_empty());
}

#[test]
fn describe_alarms_filters_and_pages() {
    let (_, _, cw) = service();
    let m = metric("CPUUtilization", "c");
    for k in 0..5 {
        cw.put_metric_alarm(&alarm(&format!("cpu-{k}"), &m, "GreaterThanThreshold", 5.0, 1, None, None)).unwrap();
    }
    cw.put_metric_alarm(&alarm(
        "mem",
        &metric("CacheMemoryUtilization", "c"),
        "GreaterThanThreshold",
        5.0,
        1,
        None,
        None,
    ))
    .unwrap();
    let all = cw.describe_alarms(&AlarmFilter::default(), Some(4), None).unwrap();
    assert_eq!(all.items.len(), 4);
    let rest = cw.describe_alarms(&AlarmFilter::default(), Some(4), all.next_token.as_deref()).unwrap();
    assert_eq!(rest.items.len(), 2);
    assert_eq!(rest.next_token, None);
    let prefix = AlarmFilter { prefix: Some("cpu".into()), ..Default::default() };
    assert_eq!(cw.describe_alarms(&prefix, None, None).unwrap().items.len(), 5);
    let both = AlarmFilter { prefix: Some("cpu".into()), names: vec!["mem".into()], ..Default::default() };
    assert_eq!(cw.describe_alarms(&both, None, None).unwrap_err().code(), "InvalidParameterCombination");
    assert_eq!(
        cw.describe_alarms(&AlarmFilter::default(), Some(101), None).unwrap_err().code(),
        "InvalidParameterValue"
    );
    assert_eq!(cw.describe_alarms_for_metric(&m, None, None, None).len(), 5);
    assert_eq!(cw.describe_alarms_for_metric(&m, None, Some(300), None).len(), 0);
}

#[test]
fn regions_keep_their_own_records() {
    let clock = Arc::new(ManualClock::at(T0));
    let store = Arc::new(Store::in_memory().unwrap());
    let east = CloudWatch::open(clock.clone(), store.clone(), "123456789012", "us-east-1").unwrap();
    let west = CloudWatch::open(clock.clone(), store.clone(), "123456789012", "us-west-2").unwrap();
    put(&east, &metric("X", "c"), T0, 1.0);
    east.put_metric_alarm(&alarm("a", &metric("X", "c"), "GreaterThanThreshold", 0.0, 1, None, None)).unwrap();
    let west_again = CloudWatch::open(clock, store.clone(), "123456789012", "us-west-2").unwrap();
    for cw in [&west, &west_again] {
        assert!(cw.list_metrics(&ListMetrics::default()).unwrap().items.is_empty());
        assert!(cw.describe_alarms(&AlarmFilter::default(), None, None).unwrap().items.is_empty());
    }
    assert_eq!(known_regions(&store).unwrap(), vec!["us-east-1".to_owned(), "us-west-2".to_owned()]);
}

#[test]
fn low_sample_percentiles_can_be_ignored() {
    for (mode, want) in [("ignore", AlarmState::InsufficientData), ("evaluate", AlarmState::Alarm)] {
        let (clock, _, cw) = service();
        let m = metric("CPUUtilization", "c");
        let mut req = alarm("p", &m, "GreaterThanThreshold", 5.0, 1, None, None);
        req.statistic = None;
        req.extended_statistic = Some("p90".into());
        req.evaluate_low_sample_count_percentile = Some(mode.into());
        cw.put_metric_alarm(&req).unwrap();
        // p90 needs 100 samples to count; three arrive.
        for v in [9.0, 9.0, 9.0] {
            put(&cw, &m, T0, v);
        }
        clock.advance_secs(60);
        cw.tick().unwrap();
        assert_eq!(state_of(&cw, "p").state, want, "{mode}");
    }
}

#[test]
fn missing_data_over_the_evaluation_range_as_aws_documents() {
    // AWS's tables ("How alarm state is evaluated when data is missing"): five datapoints
    // of the evaluation range, oldest first (0 not breaching, X breaching, - missing), M,
    // and the state under missing, ignore, breaching and notBreaching (None: kept).
    use AlarmState::{Alarm as A, InsufficientData as I, Ok as O};
    type Case<'a> = (&'a str, i64, [Option<AlarmState>; 4]);
    let cases: &[Case<'_>] = &[
        ("0 - X - X", 3, [Some(O), Some(O), Some(O), Some(O)]),
        ("0 - - - -", 3, [Some(O), Some(O), Some(O), Some(O)]),
        ("- - - - -", 3, [Some(I), None, Some(A), Some(O)]),
        ("0 X X - X", 3, [Some(A), Some(A), Some(A), Some(A)]),
        ("- - - - X", 3, [Some(I), None, Some(A), Some(O)]),
        ("X - - - -", 3, [Some(A), None, Some(A), Some(O)]),
        ("- - X - -", 3, [Some(A), None, Some(A), Some(O)]),
        ("0 - X - X", 2, [Some(A), Some(A), Some(A), Some(A)]),
        ("0 0 X 0 X", 2, [Some(A), Some(A), Some(A), Some(A)]),
        ("0 - X - -", 2, [Some(O), Some(O), Some(A), Some(O)]),
        ("- - - - 0", 2, [Some(O), Some(O), Some(A), Some(O)]),
        ("- - - - X", 2, [Some(I), None, Some(A), Some(O)]),
    ];
    for (points, m_of, wants) in cases {
        for (treat, want) in ["missing", "ignore", "breaching", "notBreaching"].into_iter().zip(wants) {
            let (clock, _, cw) = service();
            let m = metric("CPUUtilization", "c");
            cw.put_metric_alarm(&alarm("a", &m, "GreaterThanThreshold", 5.0, 3, Some(*m_of), Some(treat))).unwrap();
            for (k, p) in points.split(' ').enumerate() {
                let t = T0 + 60 * i64::try_from(k).unwrap();
                match p {
                    "0" => put(&cw, &m, t, 1.0),
                    "X" => put(&cw, &m, t, 9.0),
                    _ => {}
                }
            }
            clock.advance_secs(300);
            // A state no row gives on its own: a kept state shows as this one.
            cw.set_alarm_state("a", AlarmState::Ok, "set", None).unwrap();
            let kept = state_of(&cw, "a").state_reason;
            cw.tick().unwrap();
            let a = state_of(&cw, "a");
            match want {
                Some(s) => assert_eq!(a.state, *s, "{points} M={m_of} {treat}: {}", a.state_reason),
                None => assert_eq!((a.state, a.state_reason), (AlarmState::Ok, kept), "{points} M={m_of} {treat}"),
            }
        }
    }
}

#[test]
fn state_reasons_name_the_filled_datapoints() {
    let (clock, _, cw) = service();
    let m = metric("CPUUtilization", "c");
    cw.put_metric_alarm(&alarm("a", &m, "GreaterThanThreshold", 5.0, 3, Some(1), Some("notBreaching"))).unwrap();
    put(&cw, &m, T0 + 240, 9.0);
    clock.advance_secs(300);
    cw.tick().unwrap();
    assert_eq!(
        state_of(&cw, "a").state_reason,
        "Threshold Crossed: 1 out of the last 3 datapoints [9.0 (01/01/26 00:04:00)] was greater than the threshold \
         (5.0) and 2 missing datapoints were treated as [NonBreaching] (minimum 1 datapoint for INSUFFICIENT_DATA -> \
         ALARM transition)."
    );
    let (clock, _, cw) = service();
    cw.put_metric_alarm(&alarm("b", &m, "GreaterThanThreshold", 5.0, 2, None, Some("breaching"))).unwrap();
    clock.advance_secs(300);
    cw.tick().unwrap();
    assert_eq!(
        state_of(&cw, "b").state_reason,
        "Threshold Crossed: no datapoints were received for 2 periods and 2 missing datapoints were treated as \
         [Breaching]."
    );
    let (clock, _, cw) = service();
    cw.put_metric_alarm(&alarm("c", &m, "GreaterThanThreshold", 5.0, 3, None, None)).unwrap();
    put(&cw, &m, T0 + 240, 9.0);
    clock.advance_secs(300);
    cw.set_alarm_state("c", AlarmState::Ok, "set", None).unwrap();
    cw.tick().unwrap();
    let c = state_of(&cw, "c");
    assert_eq!(
        (c.state, c.state_reason.as_str()),
        (AlarmState::InsufficientData, "Insufficient Data: 2 datapoints were unknown.")
    );
}

fn math_alarm(name: &str, queries: Vec<DataQuery>) -> PutAlarm {
    PutAlarm {
        name: name.into(),
        evaluation_periods: 2,
        threshold: Some(50.0),
        comparison: "GreaterThanThreshold".into(),
        metrics: queries,
        ..Default::default()
    }
}

#[test]
fn alarms_on_metric_math() {
    let (clock, _, cw) = service();
    let hits = metric("ItemCacheHits", "c");
    let misses = metric("ItemCacheMisses", "c");
    let queries =
        vec![q("h", Some(&hits), None), q("m", Some(&misses), None), q("miss_rate", None, Some("100 * m / (h + m)"))];
    cw.put_metric_alarm(&math_alarm("rate", queries.clone())).unwrap();
    let a = state_of(&cw, "rate");
    assert_eq!((a.period, a.metrics.len(), a.metric.name.as_str()), (60, 3, ""));
    // A 75% miss rate in both minutes: ALARM.
    for k in 0..2 {
        put(&cw, &hits, T0 + 60 * k, 1.0);
        put(&cw, &misses, T0 + 60 * k, 3.0);
    }
    clock.advance_secs(120);
    cw.tick().unwrap();
    let a = state_of(&cw, "rate");
    assert_eq!(a.state, AlarmState::Alarm, "{}", a.state_reason);
    assert!(a
        .state_reason
        .starts_with("Threshold Crossed: 2 out of the last 2 datapoints [75.0 (01/01/26 00:01:00), 75.0"));
    let data: serde_json::Value = serde_json::from_str(a.state_reason_data.as_deref().unwrap()).unwrap();
    assert!(data.get("statistic").is_none());
    assert_eq!(data["recentDatapoints"], serde_json::json!([75.0, 75.0]));
    // Then 10%: OK.
    for k in 2..4 {
        put(&cw, &hits, T0 + 60 * k, 9.0);
        put(&cw, &misses, T0 + 60 * k, 1.0);
    }
    clock.advance_secs(120);
    cw.tick().unwrap();
    assert_eq!(state_of(&cw, "rate").state, AlarmState::Ok);
    // DescribeAlarmsForMetric leaves alarms on expressions out.
    assert!(cw.describe_alarms_for_metric(&hits, None, None, None).is_empty());

    // (request, code, message start)
    let mut two_returning = queries.clone();
    two_returning[0].return_data = None;
    let mut periods = queries.clone();
    periods[1].metric_stat.as_mut().unwrap().period = 300;
    let mut unknown = queries.clone();
    unknown[2].expression = Some("h / nope".into());
    let mut array = queries.clone();
    array[2].expression = Some("METRICS()".into());
    let many: Vec<DataQuery> = (0..11).map(|k| q(&format!("m{k}"), Some(&hits), None)).collect();
    let cases = [
        (
            math_alarm("x", two_returning),
            "ValidationError",
            "Exactly one element of the metrics list should return data.",
        ),
        (
            PutAlarm { period: Some(60), ..math_alarm("x", queries.clone()) },
            "InvalidParameterCombination",
            "The parameter Period",
        ),
        (
            PutAlarm { metric_name: Some("X".into()), ..math_alarm("x", queries.clone()) },
            "InvalidParameterCombination",
            "The parameter MetricName",
        ),
        (math_alarm("x", periods), "ValidationError", "All metrics"),
        (math_alarm("x", unknown), "ValidationError", "Error in expression 'miss_rate'"),
        (math_alarm("x", array), "ValidationError", "The expression of miss_rate returns an array"),
        (math_alarm("x", many), "ValidationError", "The Metrics of an alarm may hold at most 20"),
    ];
    for (req, code, start) in cases {
        let e = cw.put_metric_alarm(&req).unwrap_err();
        assert_eq!(e.code(), code, "{e:?}");
        assert!(e.message().starts_with(start), "{e:?}");
    }
}

#[test]
fn get_metric_data_labels_are_dynamic() {
    let (clock, _, cw) = service();
    clock.advance_secs(600);
    let hits = metric("ItemCacheHits", "c1");
    for (k, v) in [2.0, 6.0, 4.0].into_iter().enumerate() {
        put(&cw, &hits, T0 + 60 * i64::try_from(k).unwrap(), v);
    }
    let mut h = q("h", Some(&hits), None);
    h.return_data = None;
    h.label = Some("${PROP('Dim.ClusterId')} ${PROP('MetricName')} avg ${AVG} max ${MAX} last ${LAST} ${PROP('Period')}s ${PROP('Stat')} ${UNKNOWN}".into());
    let mut e = q("e", None, Some("h * 2"));
    e.label = Some("${LABEL}: sum ${SUM}, first ${FIRST}, min ${MIN}".into());
    #[allow(clippy::cast_precision_loss)]
    let req = DataRequest {
        queries: vec![h, e],
        start: T0 as f64,
        end: (T0 + 300) as f64,
        next_token: None,
        ascending: false,
        max_datapoints: Some(1),
        timezone: None,
    };
    let a = cw.get_metric_data(&req).unwrap();
    // The statistics are of the whole time range, not of the page.
    assert_eq!(a.results[0].label, "c1 ItemCacheHits avg 4 max 6 last 4 60s Sum ${UNKNOWN}");
    assert_eq!(a.results[1].label, "e: sum 24, first 4, min 4");
}
