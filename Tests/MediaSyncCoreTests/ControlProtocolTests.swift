import MediaSyncCore
import Testing

@Suite("Control protocol: request lines")
struct ControlProtocolTests {
    func parse(_ text: String) -> Result<ControlRequest, ControlRequestError> {
        ControlRequest.parse(Array(text.utf8))
    }

    @Test func everyRequestParses() throws {
        #expect(try parse(#"{"cmd":"attach"}"#).get() == .attach(since: nil))
        #expect(try parse(#"{"cmd":"attach","since":4200}"#).get() == .attach(since: 4200))
        #expect(try parse(#"{"cmd":"status"}"#).get() == .status)
        #expect(try parse(#"{"cmd":"trigger","sources":["forge","box"],"wait":true}"#).get()
            == .trigger(sources: ["forge", "box"], wait: true))
        #expect(try parse(#"{"cmd":"trigger","sources":[]}"#).get() == .trigger(sources: nil, wait: false))
        #expect(try parse("{\"cmd\":\"pause\"}\r").get() == .pause)
        #expect(try parse(#"{"cmd":"resume"}"#).get() == .resume)
        #expect(try parse(#"{"cmd":"reload"}"#).get() == .reload)
    }

    @Test func badRequestsSayWhatIsWrong() {
        func error(_ text: String) -> String {
            if case let .failure(e) = parse(text) { return e.description }
            return "parsed"
        }
        #expect(error("hello").contains("not a JSON object"))
        #expect(error("[1,2]").contains("not a JSON object"))
        #expect(error(#"{"since":3}"#).contains("no \"cmd\""))
        #expect(error(#"{"cmd":"explode"}"#).contains("unknown cmd \"explode\""))
        #expect(error(#"{"cmd":"attach","since":"yesterday"}"#).contains("\"since\" has the wrong type"))
        #expect(error(#"{"cmd":"attach","since":-1}"#).contains(">= 0"))
        #expect(error(#"{"cmd":"trigger","sources":"forge"}"#).contains("list of source names"))
        #expect(error(#"{"cmd":"trigger","wait":"yes"}"#).contains("true or false"))
    }

    @Test func linesAreSplitOneByteAtATimeAndALongLineIsRefusedOnce() {
        var decoder = RequestLineDecoder(limit: 16)
        var lines: [RequestLineDecoder.Output] = []
        for byte in Array("{\"cmd\":\"a\"}\n{}\n".utf8) { lines += decoder.feed([byte]) }
        #expect(lines == [.line(Array("{\"cmd\":\"a\"}".utf8)), .line(Array("{}".utf8))])
        #expect(decoder.feed([UInt8](repeating: 0x41, count: 17)) == [.tooLong])
        #expect(decoder.feed(Array("{}\n".utf8)) == [])
        var exact = RequestLineDecoder(limit: 4)
        #expect(exact.feed(Array("abcd\n".utf8)) == [.line(Array("abcd".utf8))])
    }
}
