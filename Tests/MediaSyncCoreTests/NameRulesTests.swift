import MediaSyncCore
import Testing

/// Which names a library's file system refuses, as the plan reports them (`name_not_allowed`, "... which the
/// library's file system cannot hold"). The engine's disk tests run real FAT and exFAT; these pin each rule.
@Suite("name rules")
struct NameRulesTests {
    func path(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test("FAT and exFAT: the part at fault is named with why, ASCII or not, in any folder of the path")
    func fat() {
        let rules = NameRules.fat
        #expect(rules.problem(path("day/00042-1.png")) == nil)
        #expect(rules.problem(path("day/a:b.png")) == "`a:b.png` has `:`")
        #expect(rules.problem(path("day./a.png")) == "`day.` ends in a dot")
        #expect(rules.problem(path("day/a.png ")) == "`a.png ` ends in a space")
        #expect(rules.problem(path("day/") + [0x61, 0xff, 0x2e, 0x70]) == "`a\u{FFFD}.p` is not valid UTF-8")
        // Length in UTF-16 units: 255 ASCII characters fit, 256 do not; 200 two-byte characters (400 bytes) fit.
        #expect(rules.problem(path(String(repeating: "a", count: 255))) == nil)
        #expect(rules.problem(path("d/" + String(repeating: "a", count: 256)))?.hasSuffix("is 256 characters (UTF-16 units) long, more than 255") == true)
        #expect(rules.problem(path(String(repeating: "é", count: 200))) == nil)
        #expect(rules.problem(path(String(repeating: "😀", count: 128)))?.hasSuffix("is 256 characters (UTF-16 units) long, more than 255") == true)
    }

    @Test("POSIX file systems: any bytes, at most 255 of them per name; an ASCII-only file system refuses the rest")
    func posixAndASCII() {
        #expect(NameRules.posix.problem([0x61, 0xff, 0x3a]) == nil)
        #expect(NameRules.posix.problem(path(String(repeating: "é", count: 127))) == nil)
        #expect(NameRules.posix.problem(path(String(repeating: "é", count: 128)))?.hasSuffix("is 256 bytes long, more than 255") == true)
        #expect(NameRules.posix.problem(path("a//b/")) == nil, "empty parts are no names")
        var ascii = NameRules.fat
        ascii.asciiOnly = true
        #expect(ascii.problem(path("day/café.png")) == "`café.png` has characters other than ASCII")
        #expect(ascii.problem(path("day/cafe.png")) == nil)
    }
}
