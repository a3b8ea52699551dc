//! Silences: stored with their matchers as written, listed while they have
//! not ended, expired by moving their end to now.

use watchkeeper_domain::alert::matcher::Matcher;
use watchkeeper_domain::alert::silence::Silence;
use watchkeeper_testkit::on_both_engines;

use crate::{TestDatabase, at};

fn silence(id: &str, matchers: &[&str], from_ms: i64, to_ms: i64) -> Silence {
    Silence {
        id: id.to_owned(),
        matchers: matchers
            .iter()
            .map(|m| Matcher::parse(m).unwrap())
            .collect(),
        starts_at: at(from_ms),
        ends_at: at(to_ms),
        created_by: "alice".to_owned(),
        comment: "deploying the API".to_owned(),
    }
}

on_both_engines! {
    async fn silences_are_listed_until_they_end_and_expire_at_once(engine) {
        let db = TestDatabase::new(engine).await;
        let store = db.open_with(&["api"]).await;
        let deploy = silence("sil_1", &["monitor=api", r#"team=~"pay.*""#], 0, 3_600_000);
        let later = silence("sil_2", &["severity!=P0"], 7_200_000, 9_000_000);
        store.add_silence(&deploy, at(0)).await.unwrap();
        store.add_silence(&later, at(0)).await.unwrap();

        let listed = store.silences(at(1_000)).await.unwrap();
        assert_eq!(listed.len(), 2);
        assert_eq!(listed[0].silence, deploy, "matchers read back as written");
        assert_eq!(listed[0].created_at, at(0));
        assert_eq!(listed[1].silence, later);

        assert!(store.expire_silence("sil_1", at(60_000)).await.unwrap());
        assert!(!store.expire_silence("sil_1", at(61_000)).await.unwrap(), "already ended");
        assert!(!store.expire_silence("sil_9", at(61_000)).await.unwrap());
        let ids: Vec<String> = store
            .silences(at(60_000))
            .await
            .unwrap()
            .into_iter()
            .map(|s| s.silence.id)
            .collect();
        assert_eq!(ids, ["sil_2"]);
        let expired = store.silence("sil_1").await.unwrap().unwrap();
        assert_eq!(expired.silence.ends_at, at(60_000));
        assert_eq!(store.silences(jiff::Timestamp::MIN).await.unwrap().len(), 2);
        assert_eq!(store.silence("sil_9").await.unwrap(), None);
    }
}
