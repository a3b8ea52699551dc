//! The subscribers aggregate: the status page's email and webhook
//! subscribers (`subscribers`), and the subscription dispatcher's cursor
//! over timeline entries (in `meta`, `subscription_cursor`).
//!
//! [`Store::commit_subscriptions`] advances the cursor and writes the
//! deliveries to subscribers in one transaction, so every public update is
//! turned into deliveries once, through the same outbox as alerts.
//! A confirmation request is written just after its subscriber (the
//! id is the database's); a crash between the two leaves a subscriber
//! waiting for a mail that never comes, and subscribing again sends it.
//! Unsubscribing deletes the row: an address is not kept once its owner
//! asked to leave (the deliveries already made keep theirs until they are
//! sent or dropped).

use jiff::Timestamp;

use crate::Store;
use crate::column::{millis, timestamp_from_millis};
use crate::error::StoreError;
use crate::outbox::NewDelivery;

/// A subscriber to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSubscriber {
    /// `email` or `webhook`.
    pub kind: String,
    pub address: String,
    pub at: Timestamp,
    /// Confirmed when made (a webhook); an email address waits for its
    /// owner to follow the link.
    pub confirmed: bool,
}

/// A stored subscriber.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSubscriber {
    pub id: i64,
    pub kind: String,
    pub address: String,
    pub created_at: Timestamp,
    pub confirmed_at: Option<Timestamp>,
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct SubscriberRow {
    pub id: i64,
    pub kind: String,
    pub address: String,
    pub created_at: i64,
    pub confirmed_at: Option<i64>,
}

impl SubscriberRow {
    fn decode(self, what: &'static str) -> Result<StoredSubscriber, StoreError> {
        Ok(StoredSubscriber {
            id: self.id,
            kind: self.kind,
            address: self.address,
            created_at: timestamp_from_millis(what, self.created_at)?,
            confirmed_at: self
                .confirmed_at
                .map(|at| timestamp_from_millis(what, at))
                .transpose()?,
        })
    }
}

pub(crate) trait SubscriberRows {
    /// Inserts the subscriber unless one with its kind and address exists;
    /// then reads it, with whether it was inserted.
    async fn insert_subscriber(
        &self,
        kind: &str,
        address: &str,
        at: i64,
        confirmed: bool,
    ) -> Result<(SubscriberRow, bool), sqlx::Error>;
    async fn write_deliveries(&self, deliveries: &[NewDelivery]) -> Result<(), sqlx::Error>;
    async fn subscriber(&self, id: i64) -> Result<Option<SubscriberRow>, sqlx::Error>;
    async fn subscribers(&self) -> Result<Vec<SubscriberRow>, sqlx::Error>;
    /// Confirms the subscriber made at `created_at`; whether one was.
    async fn confirm_subscriber(
        &self,
        id: i64,
        created_at: i64,
        at: i64,
    ) -> Result<bool, sqlx::Error>;
    /// Deletes the subscriber (made at `created_at`, when given); whether
    /// one was.
    async fn delete_subscriber(
        &self,
        id: i64,
        created_at: Option<i64>,
    ) -> Result<bool, sqlx::Error>;
    /// Deletes the unconfirmed subscribers made before `before`.
    async fn delete_unconfirmed(&self, before: i64) -> Result<u64, sqlx::Error>;
    async fn subscription_cursor(&self) -> Result<Option<i64>, sqlx::Error>;
    /// Moves the cursor from `from` to `to` and writes `deliveries`, unless
    /// the cursor is no longer at `from`; whether it did.
    async fn commit_subscriptions(
        &self,
        from: Option<i64>,
        to: i64,
        deliveries: &[NewDelivery],
    ) -> Result<bool, sqlx::Error>;
}

fn write_error(source: sqlx::Error) -> StoreError {
    StoreError::Subscribers { source }
}

fn read_error(what: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |source| StoreError::Read { what, source }
}

impl Store {
    /// Adds a subscriber, or finds the one with the same kind and address.
    /// Returns it and whether it is new.
    pub async fn add_subscriber(
        &self,
        subscriber: &NewSubscriber,
    ) -> Result<(StoredSubscriber, bool), StoreError> {
        let at = millis(subscriber.at);
        let (row, new) = backend!(self, engine => engine.insert_subscriber(
            &subscriber.kind, &subscriber.address, at, subscriber.confirmed).await)
        .map_err(write_error)?;
        Ok((row.decode("a subscriber")?, new))
    }

    /// Writes deliveries that follow from no timeline entry (a
    /// confirmation request), leaving the cursor where it is.
    pub async fn write_deliveries(&self, deliveries: &[NewDelivery]) -> Result<(), StoreError> {
        backend!(self, engine => engine.write_deliveries(deliveries).await).map_err(write_error)
    }

    pub async fn subscriber(&self, id: i64) -> Result<Option<StoredSubscriber>, StoreError> {
        const WHAT: &str = "a subscriber";
        let row =
            backend!(self, engine => engine.subscriber(id).await).map_err(read_error(WHAT))?;
        row.map(|row| row.decode(WHAT)).transpose()
    }

    /// Every subscriber, confirmed or not, by id.
    pub async fn subscribers(&self) -> Result<Vec<StoredSubscriber>, StoreError> {
        const WHAT: &str = "subscribers";
        let rows =
            backend!(self, engine => engine.subscribers().await).map_err(read_error(WHAT))?;
        rows.into_iter().map(|row| row.decode(WHAT)).collect()
    }

    /// Confirms subscriber `id` made at `created_at` (a confirmation link
    /// names both); `false` when there is no such subscriber.
    pub async fn confirm_subscriber(
        &self,
        id: i64,
        created_at: Timestamp,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        backend!(self, engine => engine.confirm_subscriber(id, millis(created_at), millis(at)).await)
            .map_err(write_error)
    }

    /// Removes subscriber `id` (only the one made at `created_at`, when
    /// given: an unsubscribe link names it); `false` when there was none.
    pub async fn remove_subscriber(
        &self,
        id: i64,
        created_at: Option<Timestamp>,
    ) -> Result<bool, StoreError> {
        backend!(self, engine => engine.delete_subscriber(id, created_at.map(millis)).await)
            .map_err(write_error)
    }

    /// Forgets the addresses never confirmed since before `before`.
    pub async fn remove_unconfirmed(&self, before: Timestamp) -> Result<u64, StoreError> {
        backend!(self, engine => engine.delete_unconfirmed(millis(before)).await)
            .map_err(write_error)
    }

    /// The id of the last timeline entry the subscription dispatcher
    /// accounted for, if it ever committed.
    pub async fn subscription_cursor(&self) -> Result<Option<i64>, StoreError> {
        backend!(self, engine => engine.subscription_cursor().await)
            .map_err(read_error("the subscription cursor"))
    }

    /// Moves the cursor from `from` (as [`Store::subscription_cursor`]
    /// read it) to `to` and writes `deliveries`, at once. `false`, writing
    /// nothing, when the cursor is no longer at `from`: another instance
    /// sharing the database committed first, so read again.
    pub async fn commit_subscriptions(
        &self,
        from: Option<i64>,
        to: i64,
        deliveries: &[NewDelivery],
    ) -> Result<bool, StoreError> {
        backend!(self, engine => engine.commit_subscriptions(from, to, deliveries).await)
            .map_err(write_error)
    }
}
