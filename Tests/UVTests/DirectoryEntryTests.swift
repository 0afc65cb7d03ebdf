import Foundation
import Testing
import UV
#if canImport(Glibc)
import Glibc
#endif

/// Names of readdir's records, read in place. readdir's buffer packs each record only as long as its name: a
/// record can end exactly where the mapped memory does, and reading its 256-byte `d_name` field whole then
/// crashes. The record here is built the kernel's way at the end of a page whose next page is unmapped.
@Suite("readdir entries: names read in place")
struct DirectoryEntryTests {
    /// Runs `body` on a record for `name` (19 header bytes, the name, a NUL, padded to 8) ending at the last
    /// byte of a page followed by an unmapped one.
    static func recordAtPageEnd(_ name: [UInt8], _ body: (UnsafePointer<dirent>) -> Void) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        guard let memory = mmap(nil, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              memory != MAP_FAILED else { return }
        defer { munmap(memory, 2 * page) }
        guard mprotect(memory + page, page, PROT_NONE) == 0 else { return }
        let length = (19 + name.count + 1 + 7) & ~7
        let record = memory + page - length
        record.initializeMemory(as: UInt8.self, repeating: 0, count: length)
        record.storeBytes(of: UInt16(length), toByteOffset: 16, as: UInt16.self)
        record.storeBytes(of: UInt8(DT_REG), toByteOffset: 18, as: UInt8.self)
        for (index, byte) in name.enumerated() { record.storeBytes(of: byte, toByteOffset: 19 + index, as: UInt8.self) }
        body(UnsafePointer(record.assumingMemoryBound(to: dirent.self)))
    }

    @Test("the last record before unmapped memory: its name, and whether it is . or ..")
    func lastRecordBeforeAnUnmappedPage() {
        var names: [[UInt8]] = []
        var dots: [Bool] = []
        for name in [Array("00001-42.png".utf8), [0x2E], [0x2E, 0x2E], [0x2E, 0x61], [0x2E, 0x2E, 0x2E], [0xFF, 0x2E]] {
            Self.recordAtPageEnd(name) { entry in
                names.append(DirectoryEntry.name(entry))
                dots.append(DirectoryEntry.isDotOrDotDot(entry))
            }
        }
        #expect(names == [Array("00001-42.png".utf8), [0x2E], [0x2E, 0x2E], [0x2E, 0x61], [0x2E, 0x2E, 0x2E], [0xFF, 0x2E]])
        #expect(dots == [false, true, true, false, false, false])
    }

    @Test("reading the whole d_name field of that record crashes: what every readdir loop here did before")
    func theWholeFieldReadsPastTheRecord() async {
        await #expect(processExitsWith: .signal(SIGSEGV)) {
            DirectoryEntryTests.recordAtPageEnd(Array("a.png".utf8)) { entry in
                let name = withUnsafeBytes(of: entry.pointee.d_name) { Array($0.prefix { $0 != 0 }) }
                print(name)
            }
        }
    }

    @Test("a real folder: every name as the file system has it, the longest (255 bytes) and a non-UTF-8 one too")
    func realFolder() throws {
        let folder = "/tmp/ms-dirent-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let made: [[UInt8]] = [Array(repeating: 0x61, count: 255), [0x62, 0xFF, 0xFE], Array(".hidden".utf8)]
            + (0..<500).map { Array("\($0).png".utf8) }
        for name in made {
            let fd = (folder.utf8 + [0x2F] + name + [0]).withUnsafeBufferPointer { path in
                path.withMemoryRebound(to: CChar.self) { open($0.baseAddress!, O_CREAT | O_WRONLY, 0o644) }
            }
            #expect(fd >= 0)
            close(fd)
        }
        let dir = try #require(opendir(folder))
        defer { closedir(dir) }
        var read: Set<[UInt8]> = []
        while let entry = readdir(dir) {
            if DirectoryEntry.isDotOrDotDot(entry) { continue }
            read.insert(DirectoryEntry.name(entry))
        }
        #expect(read == Set(made))
    }
}
