//! Per-minute rollups, the roll-up watermark and availability.

use std::time::Duration;

use watchkeeper_domain::Health;
use watchkeeper_domain::rollup::decode_histogram;
use watchkeeper_testkit::on_both_engines;

use crate::{TestDatabase, at, id, result};

const MINUTE: i64 = 60_000;

fn within_one_percent(actual: Duration, expected: Duration) -> bool {
    let (actual, expected) = (actual.as_secs_f64(), expected.as_secs_f64());
    (actual - expected).abs() <= expected * 0.01
}

on_both_engines! {
    async fn roll_up_summarises_each_monitor_and_minute_from_the_raw_results(engine) {
        let db = TestDatabase::new(engine).await;
        let store = db.open_with(&["api", "db"]).await;
        // api: 100 results in the first minute, latencies 1..=100 ms; the three
        // fastest are down, the next five degraded.
        let mut batch: Vec<_> = (1..=100i64)
            .map(|n| {
                let health = match n {
                    1..=3 => Health::Down,
                    4..=8 => Health::Degraded,
                    _ => Health::Up,
                };
                let latency_us = u64::try_from(n).unwrap() * 1_000;
                result("api", (n - 1) * 500, latency_us, health)
            })
            .collect();
        batch.push(result("db", 1_000, 10_000, Health::Up));
        batch.push(result("db", 31_000, 30_000, Health::Down));
        store.write_batch(&batch, &[]).await.unwrap();

        // The first minute ends exactly at `until`.
        assert_eq!(store.roll_up(at(MINUTE)).await.unwrap(), 2);

        let api = store.rollups(&id("api"), at(0), at(MINUTE)).await.unwrap();
        assert_eq!(api.len(), 1);
        let api = &api[0];
        assert_eq!(api.minute, at(0));
        assert_eq!((api.count, api.failures, api.degraded), (100, 3, 5));
        assert_eq!(api.latency_min, Duration::from_millis(1));
        assert_eq!(api.latency_max, Duration::from_millis(100));
        assert_eq!(api.latency_mean(), Duration::from_micros(50_500));
        for (actual, expected_ms) in [(api.p50, 50), (api.p95, 95), (api.p99, 99)] {
            assert!(
                within_one_percent(actual, Duration::from_millis(expected_ms)),
                "{actual:?} is not within 1 % of {expected_ms} ms"
            );
        }
        assert_eq!(decode_histogram(&api.histogram).unwrap().len(), 100);

        let db_rollups = store.rollups(&id("db"), at(0), at(MINUTE)).await.unwrap();
        assert_eq!(db_rollups.len(), 1);
        let db_rollup = &db_rollups[0];
        assert_eq!(
            (db_rollup.count, db_rollup.failures, db_rollup.degraded),
            (2, 1, 0)
        );
        assert_eq!(db_rollup.latency_min, Duration::from_millis(10));
        assert_eq!(db_rollup.latency_max, Duration::from_millis(30));
        assert_eq!(db_rollup.latency_mean(), Duration::from_millis(20));
    }
}

on_both_engines! {
    async fn a_minute_is_rolled_up_only_once_it_has_ended(engine) {
        let db = TestDatabase::new(engine).await;
        let store = db.open_with(&["api"]).await;
        store
            .write_batch(&[result("api", 10_000, 1_000, Health::Up)], &[])
            .await
            .unwrap();
        assert_eq!(store.roll_up(at(MINUTE - 1)).await.unwrap(), 0);
        assert!(
            store
                .rollups(&id("api"), at(0), at(10 * MINUTE))
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(store.roll_up(at(MINUTE)).await.unwrap(), 1);
    }
}

on_both_engines! {
    async fn roll_up_is_idempotent_and_never_rolls_a_minute_twice(engine) {
        let db = TestDatabase::new(engine).await;
        let store = db.open_with(&["api"]).await;
        let batch: Vec<_> = (0..6)
            .map(|n| result("api", n * 10_000, 2_000, Health::Up))
            .collect();
        store.write_batch(&batch, &[]).await.unwrap();
        assert_eq!(store.roll_up(at(MINUTE)).await.unwrap(), 1);
        let first = store.rollups(&id("api"), at(0), at(MINUTE)).await.unwrap();

        assert_eq!(store.roll_up(at(MINUTE)).await.unwrap(), 0);
        assert_eq!(store.roll_up(at(MINUTE + 30_000)).await.unwrap(), 0);
        // A late result for a minute already rolled up does not reopen it.
        store
            .write_batch(&[result("api", 55_555, 9_000, Health::Down)], &[])
            .await
            .unwrap();
        assert_eq!(store.roll_up(at(2 * MINUTE)).await.unwrap(), 0);
        let after = store.rollups(&id("api"), at(0), at(MINUTE)).await.unwrap();
        assert_eq!(after, first);
        assert_eq!(after[0].count, 6);
    }
}

on_both_engines! {
    async fn the_watermark_survives_a_restart(engine) {
        let db = TestDatabase::new(engine).await;
        let store = db.open_with(&["api"]).await;
        store
            .write_batch(&[result("api", 5_000, 1_000, Health::Up)], &[])
            .await
            .unwrap();
        assert_eq!(store.roll_up(at(MINUTE)).await.unwrap(), 1);
        store.close().await;

        let store = db.open().await;
        assert_eq!(store.roll_up(at(MINUTE)).await.unwrap(), 0);
        assert_eq!(store.roll_up(at(5 * MINUTE)).await.unwrap(), 0);
        store
            .write_batch(&[result("api", MINUTE + 5_000, 1_000, Health::Up)], &[])
            .await
            .unwrap();
        assert_eq!(store.roll_up(at(5 * MINUTE)).await.unwrap(), 1);
        let minutes: Vec<_> = store
            .rollups(&id("api"), at(0), at(5 * MINUTE))
            .await
            .unwrap()
            .into_iter()
            .map(|rollup| (rollup.minute, rollup.count))
            .collect();
        assert_eq!(minutes, vec![(at(0), 1), (at(MINUTE), 1)]);
    }
}

on_both_engines! {
    async fn minutes_without_results_produce_no_rows(engine) {
        let db = TestDatabase::new(engine).await;
        let store = db.open_with(&["api", "idle"]).await;
        store
            .write_batch(
                &[
                    result("api", 30_000, 1_000, Health::Up),
                    result("api", 5 * MINUTE + 30_000, 1_000, Health::Up),
                ],
                &[],
            )
            .await
            .unwrap();
        assert_eq!(store.roll_up(at(10 * MINUTE)).await.unwrap(), 2);
        let minutes: Vec<_> = store
            .rollups(&id("api"), at(0), at(10 * MINUTE))
            .await
            .unwrap()
            .into_iter()
            .map(|rollup| rollup.minute)
            .collect();
        assert_eq!(minutes, vec![at(0), at(5 * MINUTE)]);
        assert!(
            store
                .rollups(&id("idle"), at(0), at(10 * MINUTE))
                .await
                .unwrap()
                .is_empty()
        );
    }
}

on_both_engines! {
    async fn roll_up_does_at_most_sixty_minutes_per_call(engine) {
        let db = TestDatabase::new(engine).await;
        let store = db.open_with(&["api"]).await;
        let batch: Vec<_> = (0..90)
            .map(|n| result("api", n * MINUTE + 1_000, 1_000, Health::Up))
            .collect();
        store.write_batch(&batch, &[]).await.unwrap();
        assert_eq!(store.roll_up(at(120 * MINUTE)).await.unwrap(), 60);
        assert_eq!(store.roll_up(at(120 * MINUTE)).await.unwrap(), 30);
        assert_eq!(store.roll_up(at(120 * MINUTE)).await.unwrap(), 0);
        assert_eq!(
            store
                .rollups(&id("api"), at(0), at(120 * MINUTE))
                .await
                .unwrap()
                .len(),
            90
        );
    }
}

on_both_engines! {
    async fn availability_counts_rollups_and_the_raw_tail_not_yet_rolled_up(engine) {
        let db = TestDatabase::new(engine).await;
        let store = db.open_with(&["api", "web", "idle"]).await;
        // api, minute 0: 10 results, 2 down and 1 degraded (degraded counts as
        // available); rolled up.
        let minute_zero: Vec<_> = (0..10)
            .map(|n| {
                let health = match n {
                    0 | 1 => Health::Down,
                    2 => Health::Degraded,
                    _ => Health::Up,
                };
                result("api", n * 5_000, 1_000, health)
            })
            .collect();
        store.write_batch(&minute_zero, &[]).await.unwrap();
        assert_eq!(store.roll_up(at(MINUTE)).await.unwrap(), 1);
        // api, minute 2: 10 results, 5 down; web: 4 results, 1 down; not rolled up.
        let mut tail: Vec<_> = (0..10)
            .map(|n| {
                let health = if n < 5 { Health::Down } else { Health::Up };
                result("api", 2 * MINUTE + n * 5_000, 1_000, health)
            })
            .collect();
        tail.extend((0..4).map(|n| {
            let health = if n == 0 { Health::Down } else { Health::Up };
            result("web", 2 * MINUTE + n * 5_000, 1_000, health)
        }));
        store.write_batch(&tail, &[]).await.unwrap();

        let close = |actual: Option<f64>, expected: f64| {
            actual.is_some_and(|actual| (actual - expected).abs() < 1e-9)
        };
        let api = store.availability(&id("api"), at(0)).await.unwrap();
        assert!(close(api, 13.0 / 20.0), "{api:?}");
        let api_tail = store.availability(&id("api"), at(MINUTE)).await.unwrap();
        assert!(close(api_tail, 0.5), "{api_tail:?}");
        let api_late_tail = store
            .availability(&id("api"), at(2 * MINUTE + 25_000))
            .await
            .unwrap();
        assert!(close(api_late_tail, 1.0), "{api_late_tail:?}");
        assert_eq!(store.availability(&id("idle"), at(0)).await.unwrap(), None);
        assert_eq!(
            store.availability(&id("unknown"), at(0)).await.unwrap(),
            None
        );

        let all = store.availability_all(at(0)).await.unwrap();
        assert_eq!(all.len(), 2, "{all:?}");
        assert!(close(all.get(&id("api")).copied(), 13.0 / 20.0));
        assert!(close(all.get(&id("web")).copied(), 0.75));

        // Rolling the tail up changes where the data lives, not the answer.
        assert_eq!(store.roll_up(at(3 * MINUTE)).await.unwrap(), 2);
        let api = store.availability(&id("api"), at(0)).await.unwrap();
        assert!(close(api, 13.0 / 20.0), "{api:?}");
        let all = store.availability_all(at(0)).await.unwrap();
        assert!(close(all.get(&id("web")).copied(), 0.75));
    }
}

on_both_engines! {
    async fn concurrent_roll_ups_write_each_minute_once(engine) {
        let db = TestDatabase::new(engine).await;
        let store = db.open_with(&["api", "db"]).await;
        let batch: Vec<_> = (0..20)
            .flat_map(|n| {
                [
                    result("api", n * MINUTE + 1_000, 1_000, Health::Up),
                    result("db", n * MINUTE + 2_000, 1_000, Health::Down),
                ]
            })
            .collect();
        store.write_batch(&batch, &[]).await.unwrap();

        let other = store.clone();
        let (first, second) = tokio::join!(
            store.roll_up(at(20 * MINUTE)),
            other.roll_up(at(20 * MINUTE))
        );
        let mut written = first.unwrap() + second.unwrap();
        // The one that lost a race stops early; finish the rest.
        for _ in 0..5 {
            let more = store.roll_up(at(20 * MINUTE)).await.unwrap();
            if more == 0 {
                break;
            }
            written += more;
        }
        assert_eq!(written, 40);
        let rollups = store
            .rollups(&id("db"), at(0), at(20 * MINUTE))
            .await
            .unwrap();
        assert_eq!(rollups.len(), 20);
        assert!(
            rollups
                .iter()
                .all(|rollup| rollup.count == 1 && rollup.failures == 1)
        );
    }
}

on_both_engines! {
    async fn daily_counts_add_rolled_up_minutes_and_raw_results_per_utc_day(engine) {
        const DAY: i64 = 86_400_000;
        let db = TestDatabase::new(engine).await;
        let store = db.open_with(&["api", "db", "quiet"]).await;
        // Day 0: api 3 up + 1 down, rolled up. Day 1: api 1 degraded and
        // 1 down raw (after the watermark); db 2 up raw. Day 2 is outside
        // the window asked for.
        let first = [
            result("api", 1_000, 1_000, Health::Up),
            result("api", 2_000, 1_000, Health::Up),
            result("api", 3_000, 1_000, Health::Up),
            result("api", 61_000, 1_000, Health::Down),
        ];
        store.write_batch(&first, &[]).await.unwrap();
        while store.roll_up(at(2 * MINUTE)).await.unwrap() > 0 {}
        let later = [
            result("api", DAY + 5_000, 1_000, Health::Degraded),
            result("api", DAY + 6_000, 1_000, Health::Down),
            result("db", DAY + 7_000, 1_000, Health::Up),
            result("db", DAY + 8_000, 1_000, Health::Up),
            result("api", 2 * DAY + 1_000, 1_000, Health::Down),
        ];
        store.write_batch(&later, &[]).await.unwrap();
        let monitors = [id("api"), id("db"), id("quiet"), id("unknown")];
        let counts = store.daily_counts(&monitors, at(0), at(2 * DAY)).await.unwrap();
        // `at(0)` is a UTC midnight.
        let day = |n: i64| at(n * DAY).to_zoned(jiff::tz::TimeZone::UTC).date();
        let shape = |monitor: &str| -> Vec<(jiff::civil::Date, u64, u64, u64)> {
            counts[&id(monitor)].iter().map(|d| (d.day, d.count, d.failures, d.degraded)).collect()
        };
        assert_eq!(shape("api"), [(day(0), 4, 1, 0), (day(1), 2, 1, 1)]);
        assert_eq!(shape("db"), [(day(1), 2, 0, 0)]);
        assert!(!counts.contains_key(&id("quiet")), "no data, no entry");
        assert_eq!(counts.len(), 2);
        let only_day_one = store.daily_counts(&monitors, at(DAY), at(2 * DAY)).await.unwrap();
        assert_eq!(only_day_one[&id("api")].len(), 1);
    }
}
