internal import CLibUV
import Synchronization

/// Wakes the loop from another thread: the loop side owns an `Async` handle, other threads hold
/// its `AsyncSender`. This is the one piece of this module meant to be used off the loop thread,
/// and only through the sender.
///
///     let wake = try Async(loop: loop) { drainQueue() }
///     let sender = wake.sender            // Sendable
///     Thread { ...; sender.send() }
///
/// libuv coalesces sends: several sends before the loop wakes give one callback, so the callback
/// must drain everything that is pending (see `Mailbox`).
public final class Async: Handle {
    private var callback: (() -> Void)?
    private let gate = AsyncGate()

    var asyncHandle: UnsafeMutablePointer<uv_async_t> { raw.assumingMemoryBound(to: uv_async_t.self) }

    public init(loop: Loop, _ callback: @escaping () -> Void) throws(UVError) {
        self.callback = callback
        try super.init(loop: loop, type: UV_ASYNC, what: "create async wakeup") {
            uv_async_init(loop.raw, $0.assumingMemoryBound(to: uv_async_t.self)) { h in
                Handle.owner(UnsafeMutableRawPointer(h), as: Async.self)?.callback?()
            }
        }
        gate.open(UInt(bitPattern: raw))
    }

    /// A Sendable way to wake this handle from any thread; harmless after close.
    public var sender: AsyncSender { AsyncSender(gate: gate) }

    override func willClose() {
        // Under the lock: after this no other thread can touch the handle memory.
        gate.shut()
        callback = nil
    }
}

/// Sends wakeups to an `Async` handle from any thread.
public struct AsyncSender: Sendable {
    fileprivate let gate: AsyncGate

    /// Wakes the loop; returns false if the handle was already closed.
    @discardableResult
    public func send() -> Bool { gate.send() }
}

/// The handle address behind a lock, cleared at close, so a late send cannot use freed memory.
final class AsyncGate: Sendable {
    private let address = Mutex<UInt>(0)

    func open(_ value: UInt) { address.withLock { $0 = value } }
    func shut() { address.withLock { $0 = 0 } }

    func send() -> Bool {
        address.withLock { address in
            guard let pointer = UnsafeMutableRawPointer(bitPattern: address) else { return false }
            return uv_async_send(pointer.assumingMemoryBound(to: uv_async_t.self)) == 0
        }
    }
}

/// A queue other threads post messages into; the loop receives them in order, in batches.
///
///     let inbox = try Mailbox<Command>(loop: loop) { commands in for c in commands { run(c) } }
///     let poster = inbox.poster            // Sendable
///     poster.post(.reload)                 // from any thread
public final class Mailbox<Message: Sendable> {
    private let queue = MessageQueue<Message>()
    private var async: Async!

    public init(loop: Loop, _ receive: @escaping ([Message]) -> Void) throws(UVError) {
        let queue = self.queue
        async = try Async(loop: loop) {
            let batch = queue.drain()
            if !batch.isEmpty { receive(batch) }
        }
    }

    /// The Sendable end for other threads.
    public var poster: MailboxPoster<Message> { MailboxPoster(queue: queue, sender: async.sender) }

    /// Stops receiving; later posts return false and are dropped.
    public func close() { async.close() }
}

/// Posts messages into a `Mailbox` from any thread.
public struct MailboxPoster<Message: Sendable>: Sendable {
    fileprivate let queue: MessageQueue<Message>
    fileprivate let sender: AsyncSender

    /// Queues `message` and wakes the loop; false if the mailbox is closed (message dropped).
    @discardableResult
    public func post(_ message: Message) -> Bool {
        queue.append(message)
        if sender.send() { return true }
        _ = queue.drain()
        return false
    }
}

final class MessageQueue<Message: Sendable>: Sendable {
    private let items = Mutex<[Message]>([])
    func append(_ message: Message) { items.withLock { $0.append(message) } }
    func drain() -> [Message] { items.withLock { items in defer { items = [] }; return items } }
}
