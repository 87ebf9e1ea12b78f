//! Connection threads: one HTTP connection served by a thread of its own, which waits on
//! the connection's socket itself (`--http-connection-threads` of them at most; the other
//! connections are served by the async runtime's workers).
//!
//! Why: at low concurrency most of a `GetItem`'s cost beyond the engine's was thread
//! hand-offs. On a worker, a request's bytes wake the worker that waits on the runtime's
//! event queue, and the embedded engine's synchronous call must then leave the worker
//! (`block_in_place` hands the worker's core to another thread, which it wakes). Here the
//! bytes wake the thread that handles them, and the engine call runs in place: this
//! thread is no async worker, so blocking it holds up this one connection only
//! (docs/performance.md, "Connection-thread runs (2026-11-27)").
//!
//! How: the connection's future (hyper's HTTP/1.1 over [`ThreadIo`]) is polled by a small
//! executor on the thread. The socket is registered with a `mio::Poll` of the thread's
//! own, with a `mio::Waker` beside it. When the future is pending, the thread sleeps in
//! that poll until the socket is ready or something wakes the future: a timer or a task
//! of the runtime (the thread enters the runtime's context, so timers, `tokio::spawn` and
//! the engine thread's answers all work as on a worker). `block_in_place` outside a
//! worker runs its closure directly.
//!
//! A connection thread is for low concurrency only. When the server gets more connections
//! than it has connection threads, a thread hands its connection to the runtime (at the
//! next wake-up, between two polls of its future, with whatever request is in progress):
//! the socket moves to the runtime's event queue, the future becomes a runtime task, and
//! the thread ends. The client sees nothing of it. Under load the runtime serves every
//! connection, amortizing its wake-ups over many of them, as before there were threads.

use std::future::Future;
use std::io::{self, Read, Write};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{ready, Context, Poll, Wake, Waker};

use tokio::io::AsyncWrite as _;

const SOCKET: mio::Token = mio::Token(0);
const WAKE: mio::Token = mio::Token(1);

/// Bytes read from the socket at a time (into hyper's buffer, whose free space may be less).
const READ_CHUNK: usize = 16 * 1024;

/// Where the connection's socket waits for readiness.
enum Socket {
    /// On the connection thread's own poll (non-blocking; edge-triggered readiness).
    Thread(mio::net::TcpStream),
    /// On the runtime's event queue, after the connection moved there.
    Runtime(tokio::net::TcpStream),
    /// Moving failed: every operation fails, and the connection ends.
    Gone,
}

/// The connection's socket, for hyper: on the thread, an operation that would block
/// returns `Pending`, and the thread's poll reports the socket's next readiness, after
/// which the executor polls again; on the runtime, the runtime's readiness as usual.
pub(crate) struct ThreadIo {
    socket: Arc<Mutex<Socket>>,
    /// What a read takes from the socket before it goes into hyper's buffer (kept, not
    /// zeroed again on every read).
    chunk: Box<[u8]>,
}

fn lock(socket: &Mutex<Socket>) -> MutexGuard<'_, Socket> {
    socket.lock().unwrap_or_else(PoisonError::into_inner)
}

fn gone<T>() -> Poll<io::Result<T>> {
    Poll::Ready(Err(io::Error::new(io::ErrorKind::NotConnected, "the connection could not move to the runtime")))
}

/// On the thread: `WouldBlock` means wait for the poll (which the executor does).
fn on_thread<T>(mut op: impl FnMut() -> io::Result<T>) -> Poll<io::Result<T>> {
    loop {
        match op() {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Poll::Pending,
            other => return Poll::Ready(other),
        }
    }
}

impl hyper::rt::Read for ThreadIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let chunk = &mut this.chunk[..buf.remaining().min(READ_CHUNK)];
        let n = match &mut *lock(&this.socket) {
            Socket::Thread(s) => ready!(on_thread(|| s.read(chunk)))?,
            Socket::Runtime(s) => loop {
                ready!(s.poll_read_ready(cx))?;
                match s.try_read(chunk) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    other => break other?,
                }
            },
            Socket::Gone => return gone(),
        };
        buf.put_slice(&chunk[..n]);
        Poll::Ready(Ok(()))
    }
}

impl hyper::rt::Write for ThreadIo {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match &mut *lock(&self.socket) {
            Socket::Thread(s) => on_thread(|| s.write(buf)),
            Socket::Runtime(s) => Pin::new(s).poll_write(cx, buf),
            Socket::Gone => gone(),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match &mut *lock(&self.socket) {
            Socket::Thread(s) => on_thread(|| s.write_vectored(bufs)),
            Socket::Runtime(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Socket::Gone => gone(),
        }
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(())) // writes go straight to the socket
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut *lock(&self.socket) {
            Socket::Thread(s) => on_thread(|| s.shutdown(std::net::Shutdown::Write)),
            Socket::Runtime(s) => Pin::new(s).poll_shutdown(cx),
            Socket::Gone => gone(),
        }
    }
}

/// Wakes the thread's poll, once per round of polling however often it is called.
struct ThreadWaker {
    waker: mio::Waker,
    notified: AtomicBool,
}

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.notified.swap(true, Ordering::AcqRel) {
            if let Err(e) = self.waker.wake() {
                tracing::warn!(error = %e, "cannot wake a connection thread");
            }
        }
    }
}

/// The thread's side of [`ThreadIo`]: the poll its socket is registered with, and the
/// waker that interrupts that poll.
pub(crate) struct Reactor {
    poll: mio::Poll,
    waker: Arc<ThreadWaker>,
    socket: Arc<Mutex<Socket>>,
}

/// Make `stream` a [`ThreadIo`], registered with a new [`Reactor`].
///
/// # Errors
/// The poll could not be set up (out of file descriptors, most likely): the stream comes
/// back untouched, to be served some other way.
pub(crate) fn register(stream: std::net::TcpStream) -> Result<(ThreadIo, Reactor), (std::net::TcpStream, io::Error)> {
    let setup = (|| -> io::Result<_> {
        let poll = mio::Poll::new()?;
        let waker = mio::Waker::new(poll.registry(), WAKE)?;
        stream.set_nonblocking(true)?;
        Ok((poll, waker))
    })();
    let (poll, waker) = match setup {
        Ok(parts) => parts,
        Err(error) => return Err((stream, error)),
    };
    let mut socket = mio::net::TcpStream::from_std(stream);
    if let Err(error) = poll.registry().register(&mut socket, SOCKET, mio::Interest::READABLE | mio::Interest::WRITABLE)
    {
        return Err((std::net::TcpStream::from(std::os::fd::OwnedFd::from(socket)), error));
    }
    let socket = Arc::new(Mutex::new(Socket::Thread(socket)));
    let waker = Arc::new(ThreadWaker { waker, notified: AtomicBool::new(false) });
    let io = ThreadIo { socket: Arc::clone(&socket), chunk: vec![0; READ_CHUNK].into_boxed_slice() };
    Ok((io, Reactor { poll, waker, socket }))
}

/// A connection's future, as the runtime can take it over.
pub(crate) type ConnFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

impl Reactor {
    /// Poll `future` on this thread, sleeping in the poll whenever it is pending, until it
    /// ends or, checked at each wake-up, `leave()` says the runtime should take it: then
    /// the socket moves to the runtime's event queue and the future is spawned there.
    /// Call it inside the runtime's context (`Handle::enter`).
    ///
    /// # Errors
    /// Waiting on the poll failed: the future is dropped unfinished.
    pub(crate) fn run(mut self, mut future: ConnFuture, leave: impl Fn() -> bool) -> io::Result<()> {
        let task_waker = Waker::from(Arc::clone(&self.waker));
        let mut cx = Context::from_waker(&task_waker);
        let mut events = mio::Events::with_capacity(4);
        loop {
            if leave() {
                self.move_socket();
                // Polled there, the future's parts register the runtime task's waker in
                // place of this thread's.
                drop(tokio::spawn(future));
                return Ok(());
            }
            self.waker.notified.store(false, Ordering::Release);
            if future.as_mut().poll(&mut cx).is_ready() {
                return Ok(());
            }
            // Edge-triggered: an operation that returned `Pending` saw `WouldBlock`, so
            // the socket's next readiness (or a wake-up since the poll above) ends this.
            loop {
                match self.poll.poll(&mut events, None) {
                    Ok(()) => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
        }
    }

    /// Take the socket off this thread's poll and register it with the runtime's.
    fn move_socket(&mut self) {
        let mut socket = lock(&self.socket);
        let Socket::Thread(mut stream) = std::mem::replace(&mut *socket, Socket::Gone) else {
            return;
        };
        if let Err(e) = self.poll.registry().deregister(&mut stream) {
            tracing::debug!(error = %e, "deregistering a connection's socket from its thread's poll");
        }
        let std = std::net::TcpStream::from(std::os::fd::OwnedFd::from(stream));
        match tokio::net::TcpStream::from_std(std) {
            Ok(stream) => *socket = Socket::Runtime(stream),
            Err(e) => tracing::warn!(error = %e, "cannot move a connection to the runtime; it is closed"),
        }
    }
}
