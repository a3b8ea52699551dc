//! The recorder's unit tests: the write buffer's bound (at start and after
//! reloads), the gauges a restart starts from, and what becomes of a
//! removed monitor's state (kept for its last probe, then forgotten). The
//! recorder is driven input by input (`take`), so each test sees its state
//! between two inputs; those that touch the store run on both engines.

use std::collections::HashMap;

use tokio::sync::oneshot;
use watchkeeper_domain::check::MonitorStatus;
use watchkeeper_domain::id::MonitorId;
use watchkeeper_domain::monitor::{ProbeSpec, TcpSpec};
use watchkeeper_domain::schedule::Schedule;
use watchkeeper_testkit::{Engine, TestStorage, on_both_engines};

use super::*;
use crate::scheduler::ProbesInFlight;

fn every(id: &str, interval: Duration) -> Arc<MonitorSpec> {
    Arc::new(MonitorSpec {
        id: MonitorId::parse(id).unwrap(),
        name: id.to_owned(),
        component: None,
        schedule: Schedule::Every(interval),
        timeout: Duration::from_secs(1),
        probe: ProbeSpec::Tcp(TcpSpec {
            host: "127.0.0.1".to_owned(),
            port: 9,
            send: None,
            expect: None,
        }),
        expect: Vec::new(),
        degraded_if: Vec::new(),
    })
}

fn id(raw: &str) -> MonitorId {
    MonitorId::parse(raw).unwrap()
}

fn at(raw: &str) -> Timestamp {
    raw.parse().unwrap()
}

const BATCH: usize = 10;

/// A recorder and what a test looks at beside it.
struct Harness {
    recorder: Recorder,
    health: StoreHealth,
    registry: prometheus_client::registry::Registry,
    store: Store,
    /// Owns the database.
    _storage: TestStorage,
}

/// A recorder of `monitors` (with `states` loaded "from the store") on a
/// fresh store of `engine`.
async fn recorder_on(
    engine: Engine,
    monitors: &[Arc<MonitorSpec>],
    states: HashMap<MonitorId, MonitorStatus>,
    buffer_bound: WriteBufferBound,
) -> Harness {
    let storage = TestStorage::new(engine).await;
    let store = Store::open(storage.config())
        .await
        .unwrap_or_else(|error| panic!("cannot open the {engine} store: {error}"));
    let ids: Vec<MonitorId> = monitors.iter().map(|spec| spec.id.clone()).collect();
    store.register_monitors(&ids).await.unwrap();
    let board = Board::new(monitors, states, HashMap::new());
    let (registry, metrics) = crate::metrics::for_tests();
    let health = StoreHealth::new(buffer_bound.capacity(monitors, BATCH));
    let recorder = Recorder::new(
        RecorderParts {
            store: store.clone(),
            clock: Arc::new(crate::SystemClock::new()),
            board,
            metrics,
            health: health.clone(),
            unwritten: UnwrittenSince::default(),
            committed: tokio::sync::watch::channel(None).0,
            committed_alerts: tokio::sync::watch::channel(None).0,
            alerts: Default::default(),
            rules: Default::default(),
            progress: RecorderProgress::new(Timestamp::UNIX_EPOCH),
            batch_size: BATCH,
            flush_interval: Duration::from_secs(1),
            buffer_bound,
        },
        monitors,
    );
    Harness {
        recorder,
        health,
        registry,
        store,
        _storage: storage,
    }
}

/// Gives the recorder `monitors`, as the engine's reload does (nothing new
/// in the store), and waits for it to say it is applied.
fn reload(recorder: &mut Recorder, monitors: &[Arc<MonitorSpec>]) {
    let (applied, done) = oneshot::channel();
    recorder.take(Input::Reload(Reload {
        monitors: monitors.to_vec(),
        rules: None,
        states: HashMap::new(),
        recent: HashMap::new(),
        applied,
    }));
    let mut done = done;
    done.try_recv().expect("the reload was applied");
}

fn up_since_epoch() -> MonitorStatus {
    MonitorStatus {
        health: Health::Up,
        since: Timestamp::UNIX_EPOCH,
        reason: None,
    }
}

#[test]
fn a_minute_of_results_is_the_sum_over_monitors_rounded_up() {
    let monitors = [
        every("a", Duration::from_secs(1)),
        every("b", Duration::from_secs(10)),
        every("c", Duration::from_secs(7)),
        every("d", Duration::from_secs(3600)),
    ];
    // 60 + 6 + ceil(60 / 7) = 9 + one daily result.
    assert_eq!(results_within(WRITE_BUFFER_WINDOW, &monitors), 76);
    let fleet: Vec<_> = (0..10_000)
        .map(|n| every(&format!("m{n}"), Duration::from_secs(10)))
        .collect();
    assert_eq!(results_within(WRITE_BUFFER_WINDOW, &fleet), 60_000);
    assert_eq!(results_within(WRITE_BUFFER_WINDOW, &[]), 0);
}

#[test]
fn the_bound_is_never_below_a_batch_nor_zero() {
    let one = [every("a", Duration::from_secs(60))];
    assert_eq!(
        WriteBufferBound::MinuteOfResults.capacity(&one, 1_000),
        1_000
    );
    assert_eq!(WriteBufferBound::Fixed(5).capacity(&one, 10), 10);
    assert_eq!(WriteBufferBound::Fixed(0).capacity(&[], 0), 1);
    let fast = [every("a", Duration::from_secs(1))];
    assert_eq!(WriteBufferBound::MinuteOfResults.capacity(&fast, 10), 60);
}

#[test]
fn unwritten_since_round_trips_and_clears() {
    let unwritten = UnwrittenSince::default();
    assert_eq!(unwritten.get(), None);
    let at: Timestamp = "2026-01-01T09:52:30.123Z".parse().unwrap();
    unwritten.set(Some(at));
    assert_eq!(unwritten.get(), Some(at));
    unwritten.set(None);
    assert_eq!(unwritten.get(), None);
}

/// 5,000 monitors at 10 s added by a reload: the bound grows from one
/// monitor's minute (60) to 30,060 results, in the buffer and in what
/// `/health` says; removing them brings it back, and removing every
/// monitor leaves a batch.
#[tokio::test]
async fn the_write_buffers_bound_follows_the_monitors_through_reloads() {
    let api = every("api", Duration::from_secs(1));
    let mut test = recorder_on(
        Engine::Sqlite,
        std::slice::from_ref(&api),
        HashMap::new(),
        WriteBufferBound::MinuteOfResults,
    )
    .await;
    assert_eq!(test.recorder.buffer.capacity(), 60);
    assert_eq!(test.health.snapshot().buffer_capacity, 60);

    let mut fleet = vec![api.clone()];
    fleet.extend((0..5_000).map(|n| every(&format!("m{n}"), Duration::from_secs(10))));
    reload(&mut test.recorder, &fleet);
    assert_eq!(test.recorder.buffer.capacity(), 60 + 30_000);
    assert_eq!(test.health.snapshot().buffer_capacity, 60 + 30_000);

    reload(&mut test.recorder, std::slice::from_ref(&api));
    assert_eq!(test.recorder.buffer.capacity(), 60);
    assert_eq!(test.health.snapshot().buffer_capacity, 60);

    reload(&mut test.recorder, &[]);
    assert_eq!(test.recorder.buffer.capacity(), BATCH);
    assert_eq!(test.health.snapshot().buffer_capacity, BATCH);
}

/// A bound the engine's config fixed (as the tests of a full store do)
/// stays what it was told, whatever a reload brings.
#[tokio::test]
async fn a_fixed_bound_stays_through_reloads() {
    let api = every("api", Duration::from_secs(1));
    let mut test = recorder_on(
        Engine::Sqlite,
        std::slice::from_ref(&api),
        HashMap::new(),
        WriteBufferBound::Fixed(25),
    )
    .await;
    assert_eq!(test.recorder.buffer.capacity(), 25);
    let fleet: Vec<_> = (0..100)
        .map(|n| every(&format!("m{n}"), Duration::from_secs(1)))
        .collect();
    reload(&mut test.recorder, &fleet);
    assert_eq!(test.recorder.buffer.capacity(), 25);
    assert_eq!(test.health.snapshot().buffer_capacity, 25);
}

on_both_engines! {
    /// Gauges start from the state loaded at start, not as down.
    async fn gauges_start_from_the_state_loaded_at_start(engine) {
        let spec = every("db", Duration::from_secs(3600));
        let mut states = HashMap::new();
        states.insert(
            spec.id.clone(),
            MonitorStatus {
                health: Health::Degraded,
                since: Timestamp::UNIX_EPOCH,
                reason: Some("slow".to_owned()),
            },
        );
        let test = recorder_on(
            engine,
            std::slice::from_ref(&spec),
            states,
            WriteBufferBound::MinuteOfResults,
        )
        .await;
        let text = crate::metrics::encode(&test.registry);
        assert!(
            text.contains("watchkeeper_monitor_up{monitor=\"db\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("watchkeeper_monitor_degraded{monitor=\"db\"} 1"),
            "{text}"
        );
    }

    /// A probe of a removed monitor that ends long after the reload (ten
    /// minutes of paused time, far past its 1 s timeout: a probe whose
    /// result waited behind a slow store) still records its state change,
    /// and the state goes with it; then the change is stored.
    async fn a_removed_monitors_last_probe_records_its_change_then_its_state_is_forgotten(engine) {
        let api = every("api", Duration::from_secs(1));
        let mut states = HashMap::new();
        states.insert(api.id.clone(), up_since_epoch());
        // Paused after the store is open: its connections' timers must
        // not run ahead while they wait for the server.
        let mut test = recorder_on(
            engine,
            std::slice::from_ref(&api),
            states,
            WriteBufferBound::MinuteOfResults,
        )
        .await;
        tokio::time::pause();
        let in_flight = ProbesInFlight::new();
        let slot = in_flight.slot();
        let started = at("2026-01-01T00:00:00Z");
        let mark = slot.start(started);

        reload(&mut test.recorder, &[]);
        assert!(test.recorder.retired.contains_key(&id("api")));
        test.recorder.take(Input::Unscheduled(vec![(id("api"), slot.unschedule())]));
        tokio::time::advance(Duration::from_secs(600)).await;
        // The flush ticker's pass: the probe is still in flight.
        test.recorder.forget_retired();
        assert!(
            test.recorder.retired.contains_key(&id("api")),
            "forgotten while its last probe was in flight"
        );

        let down = watchkeeper_testkit::result("api", started)
            .down("connection refused")
            .build();
        test.recorder.take(Input::Probe(Finished {
            result: down,
            in_flight: mark,
        }));
        let changes = test.recorder.buffer.buffered_changes();
        assert_eq!(changes.len(), 1, "{changes:?}");
        assert_eq!(changes[0].from, Some(Health::Up));
        assert_eq!(changes[0].to, Health::Down);
        assert!(test.recorder.retired.is_empty(), "{:?}", test.recorder.retired);

        // And the change reaches the store, as any other.
        tokio::time::resume();
        test.recorder.buffer.start_write();
        let written = test.recorder.buffer.written().await;
        test.recorder.buffer.finish(written);
        let stored = test.store.state_changes(&id("api"), 10).await.unwrap();
        assert_eq!(stored.first().map(|change| change.to), Some(Health::Down));
        test.store.close().await;
    }
}

/// No probe in flight when the scheduler lets go: forgotten at once.
#[tokio::test]
async fn a_removed_monitor_without_a_probe_in_flight_is_forgotten_when_unscheduled() {
    let api = every("api", Duration::from_secs(1));
    let mut test = recorder_on(
        Engine::Sqlite,
        std::slice::from_ref(&api),
        HashMap::new(),
        WriteBufferBound::MinuteOfResults,
    )
    .await;
    let slot = ProbesInFlight::new().slot();
    reload(&mut test.recorder, &[]);
    // Until the scheduler has applied the reload, it may start a probe.
    test.recorder.forget_retired();
    assert!(test.recorder.retired.contains_key(&id("api")));
    test.recorder
        .take(Input::Unscheduled(vec![(id("api"), slot.unschedule())]));
    assert!(
        test.recorder.retired.is_empty(),
        "{:?}",
        test.recorder.retired
    );
}

/// A result that arrives between the recorder's and the scheduler's half
/// of the reload keeps the state (another probe may still start), and a
/// last probe whose task died without a result is noticed by the flush
/// ticker's pass.
#[tokio::test]
async fn a_removed_monitor_is_kept_until_the_scheduler_lets_go_and_its_probe_ends() {
    let api = every("api", Duration::from_secs(1));
    let mut test = recorder_on(
        Engine::Sqlite,
        std::slice::from_ref(&api),
        HashMap::new(),
        WriteBufferBound::MinuteOfResults,
    )
    .await;
    let in_flight = ProbesInFlight::new();
    let slot = in_flight.slot();
    reload(&mut test.recorder, &[]);
    let first = slot.start(at("2026-01-01T00:00:00Z"));
    test.recorder.take(Input::Probe(Finished {
        result: watchkeeper_testkit::result("api", at("2026-01-01T00:00:00Z")).build(),
        in_flight: first,
    }));
    assert!(
        test.recorder.retired.contains_key(&id("api")),
        "forgotten before the scheduler let go"
    );

    // The scheduler started one more before it applied the reload; that
    // probe's task dies, dropping its mark on the way.
    let second = slot.start(at("2026-01-01T00:00:01Z"));
    test.recorder
        .take(Input::Unscheduled(vec![(id("api"), slot.unschedule())]));
    assert!(test.recorder.retired.contains_key(&id("api")));
    drop(second);
    test.recorder.forget_retired();
    assert!(
        test.recorder.retired.is_empty(),
        "{:?}",
        test.recorder.retired
    );
}
