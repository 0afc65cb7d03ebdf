import Testing
import UV
#if canImport(Glibc)
import Glibc
#endif
import Synchronization

@Suite struct AsyncTests {
    @Test func wakeupFromAnotherThread() throws {
        var wakeups = 0
        try withLoop { loop in
            let async = try Async(loop: loop) {
                wakeups += 1
            }
            let sender = async.sender
            let closer = try Timer(loop: loop)
            var thread = pthread_t()
            let box = Unmanaged.passRetained(SenderBox(sender)).toOpaque()
            pthread_create(&thread, nil, { arg in
                let sender = Unmanaged<SenderBox>.fromOpaque(arg!).takeRetainedValue().sender
                usleep(10_000)
                sender.send()
                return nil
            }, box)
            closer.start(after: 5, repeat: 5) {
                if wakeups == 1 {
                    async.close()
                    closer.close()
                    pthread_join(thread, nil)
                    #expect(sender.send() == false)  // closed: refused, no use-after-free
                }
            }
        }
        #expect(wakeups == 1)
    }

    @Test func mailboxDeliversEveryMessageInOrder() throws {
        var received: [Int] = []
        try withLoop { loop in
            var mailbox: Mailbox<Int>!
            mailbox = try Mailbox<Int>(loop: loop) { batch in
                received += batch
                if received.count == 1000 { mailbox.close() }
            }
            let poster = mailbox.poster
            let box = Unmanaged.passRetained(PosterBox(poster)).toOpaque()
            var thread = pthread_t()
            pthread_create(&thread, nil, { arg in
                let poster = Unmanaged<PosterBox>.fromOpaque(arg!).takeRetainedValue().poster
                for i in 0..<1000 { poster.post(i) }
                return nil
            }, box)
            pthread_detach(thread)
        }
        #expect(received == Array(0..<1000))
    }
}

final class SenderBox: Sendable {
    let sender: AsyncSender
    init(_ sender: AsyncSender) { self.sender = sender }
}

final class PosterBox: Sendable {
    let poster: MailboxPoster<Int>
    init(_ poster: MailboxPoster<Int>) { self.poster = poster }
}
