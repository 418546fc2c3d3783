//! A pooled connection that goes back to the pool only when the work on it finished cleanly. COPY and
//! multi-statement transactions leave a connection mid-exchange when they fail — or when the future running
//! them is dropped (a receiver disconnects, a socket is stopped, a task is aborted): such a connection is
//! closed, never handed to the next query, which would otherwise read the last exchange's leftovers
//! ("expected ParseComplete, got ReadyForQuery").

use sqlx::pool::PoolConnection;
use sqlx::{PgPool, Postgres};

pub struct Careful {
    conn: PoolConnection<Postgres>,
    clean: bool,
}

impl Careful {
    pub async fn acquire(pool: &PgPool) -> Result<Careful, sqlx::Error> {
        Ok(Careful { conn: pool.acquire().await?, clean: false })
    }

    /// The work finished cleanly: the connection may serve others again.
    pub fn release(mut self) {
        self.clean = true;
    }
}

impl std::ops::Deref for Careful {
    type Target = sqlx::PgConnection;
    fn deref(&self) -> &sqlx::PgConnection {
        &self.conn
    }
}

impl std::ops::DerefMut for Careful {
    fn deref_mut(&mut self) -> &mut sqlx::PgConnection {
        &mut self.conn
    }
}

impl Drop for Careful {
    fn drop(&mut self) {
        if !self.clean {
            self.conn.close_on_drop();
        }
    }
}
