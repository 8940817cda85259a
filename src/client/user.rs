//! A Sync user: a uid on the target with a token minted from the shared secret.

use std::fmt;
use std::time::Duration;

use rand::Rng;
use syncstorage_tokenlib::{Credentials, TokenPayload, mint};
use url::Url;

use super::error::ClientError;
use super::http::{Signer, SyncClient};
use super::request::SyncRequest;
use super::response::SyncResponse;

/// Token lifetime unless chosen otherwise: one hour, as the tokenserver grants.
pub const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(60 * 60);

/// How long a minted token is valid, or how long ago it expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenLifetime {
    /// Expires this long from now.
    ValidFor(Duration),
    /// Expired this long ago.
    ExpiredFor(Duration),
}

impl SyncClient {
    /// A user of this target with a token valid for the default lifetime.
    pub fn user(&self, secret: impl Into<String>, uid: u64) -> SyncUser {
        SyncUser::new(self, secret, uid)
    }
}

impl TokenLifetime {
    /// A token that expired a minute ago, beyond any reasonable clock skew allowance.
    pub const EXPIRED: Self = Self::ExpiredFor(Duration::from_secs(60));
}

impl Default for TokenLifetime {
    fn default() -> Self {
        Self::ValidFor(DEFAULT_TOKEN_TTL)
    }
}

/// A user of the target server, signing its requests with its own token.
///
/// The token is minted here with the secret the server shares with its tokenserver; its
/// `node` is the target URL.
#[derive(Clone)]
pub struct SyncUser {
    client: SyncClient,
    secret: String,
    uid: u64,
    token: TokenPayload,
    credentials: Credentials,
}

impl SyncUser {
    /// User `uid` with a token valid for [`DEFAULT_TOKEN_TTL`].
    ///
    /// The token salt comes from the thread's OS-seeded generator: it decides no behaviour of
    /// the server, only key bytes. Use [`SyncUser::with_lifetime`] to draw it from a seeded one.
    pub fn new(client: &SyncClient, secret: impl Into<String>, uid: u64) -> Self {
        Self::with_lifetime(client, secret, uid, TokenLifetime::default(), &mut rand::rng())
    }

    /// User `uid` with a token of the given lifetime and a salt drawn from `rng`.
    pub fn with_lifetime<R: Rng + ?Sized>(
        client: &SyncClient,
        secret: impl Into<String>,
        uid: u64,
        lifetime: TokenLifetime,
        rng: &mut R,
    ) -> Self {
        let secret = secret.into();
        let node = client.node();
        let token = match lifetime {
            TokenLifetime::ValidFor(ttl) => TokenPayload::valid_for(uid, node, ttl, rng),
            TokenLifetime::ExpiredFor(ago) => TokenPayload::expired_for(uid, node, ago, rng),
        };
        Self::with_token(client, secret, token)
    }

    /// A user whose token payload is given in full (its `uid` is the user's uid).
    pub fn with_token(client: &SyncClient, secret: impl Into<String>, token: TokenPayload) -> Self {
        let secret = secret.into();
        let credentials = mint(&secret, &token);
        Self { client: client.clone(), secret, uid: token.uid, token, credentials }
    }

    /// The same user with a freshly minted token of the given lifetime.
    pub fn reminted<R: Rng + ?Sized>(&self, lifetime: TokenLifetime, rng: &mut R) -> Self {
        Self::with_lifetime(&self.client, self.secret.clone(), self.uid, lifetime, rng)
    }

    /// The same user with a token that expired [`TokenLifetime::EXPIRED`] ago.
    pub fn expired(&self) -> Self {
        self.reminted(TokenLifetime::EXPIRED, &mut rand::rng())
    }

    /// The uid.
    pub fn uid(&self) -> u64 {
        self.uid
    }

    /// The token id and Hawk key.
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// What the client signs this user's requests with.
    pub(crate) fn signer(&self) -> Signer<'_> {
        Signer { uid: self.uid, credentials: &self.credentials }
    }

    /// The token payload.
    pub fn token(&self) -> &TokenPayload {
        &self.token
    }

    /// The client this user sends with.
    pub fn client(&self) -> &SyncClient {
        &self.client
    }

    /// The user's root path on the server, `/1.5/{uid}/` (after the target's path prefix).
    pub fn root_path(&self) -> String {
        let prefix = self.client.target().path().trim_end_matches('/');
        format!("{prefix}/1.5/{}/", self.uid)
    }

    /// The URL `path` resolves to for this user.
    pub fn url_for(&self, path: &str) -> Result<Url, ClientError> {
        self.client.url_for(path, Some(self.uid))
    }

    /// Sends `request` as this user, signed with the user's token unless it says otherwise.
    pub async fn send(&self, request: SyncRequest) -> Result<SyncResponse, ClientError> {
        self.client.send_as(Some(self.signer()), request).await
    }

    /// Sends a signed `GET` for `path`.
    pub async fn get(&self, path: &str) -> Result<SyncResponse, ClientError> {
        self.send(SyncRequest::get(path)).await
    }
}

impl fmt::Debug for SyncUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The secret signs tokens for every user of the server; keep it out of logs.
        f.debug_struct("SyncUser")
            .field("target", &self.client.target().as_str())
            .field("uid", &self.uid)
            .field("token", &self.token)
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use rand::SeedableRng as _;
    use syncstorage_tokenlib::parse;

    use super::*;

    fn client() -> SyncClient {
        SyncClient::new(Url::parse("http://127.0.0.1:8000/").expect("url")).expect("client")
    }

    #[test]
    fn tokens_name_the_user_and_target() {
        let user = client().user("s3cret", 42);
        let payload = parse("s3cret", &user.credentials().id).expect("token parses");
        assert_eq!(payload.uid, 42);
        assert_eq!(payload.node, "http://127.0.0.1:8000");
        assert!(!payload.is_expired_at(SystemTime::now()));
        assert!(payload.is_expired_at(SystemTime::now() + DEFAULT_TOKEN_TTL + Duration::from_secs(1)));
        assert_eq!(user.root_path(), "/1.5/42/");
        assert_eq!(
            user.url_for("info/collections").map(|u| u.to_string()).ok().as_deref(),
            Some("http://127.0.0.1:8000/1.5/42/info/collections")
        );
    }

    #[test]
    fn expired_users_keep_their_uid() {
        let user = client().user("s3cret", 7);
        let expired = user.expired();
        assert_eq!(expired.uid(), 7);
        assert!(expired.token().is_expired_at(SystemTime::now()));
        assert_ne!(expired.credentials(), user.credentials());
    }

    #[test]
    fn seeded_salts_repeat() {
        let make = || {
            let mut rng = rand::rngs::StdRng::seed_from_u64(9);
            SyncUser::with_lifetime(&client(), "s", 1, TokenLifetime::default(), &mut rng)
        };
        assert_eq!(make().token().salt, make().token().salt);
    }

    #[test]
    fn debug_hides_secret_and_key() {
        let user = client().user("very-secret-value", 3);
        let shown = format!("{user:?}");
        assert!(!shown.contains("very-secret-value"), "{shown}");
        assert!(!shown.contains(&user.credentials().key), "{shown}");
    }
}
