import MediaSyncCore

/// What a control-socket client sends: split into lines (in any pieces, with a small limit so the too-long
/// path is reached), each parsed; every reply the supervisor would write about it is strict JSON.
enum ControlFuzz {
    static func run(_ data: UnsafeRawBufferPointer) {
        let bytes = Array(data)
        for limit in [ControlProtocol.maxRequestLine, 64] {
            var whole = RequestLineDecoder(limit: limit)
            let expected = whole.feed(bytes)
            var pieces = RequestLineDecoder(limit: limit)
            var got: [RequestLineDecoder.Output] = []
            for range in randomSplits(data) { got += pieces.feed(bytes[range]) }
            fuzzCheck(got == expected, "request lines differ when fed in pieces (limit \(limit))")
            if limit != ControlProtocol.maxRequestLine { continue }
            for output in expected {
                guard case let .line(line) = output else { continue }
                fuzzCheck(line.count <= limit, "a line longer than the limit got through")
                switch ControlRequest.parse(line) {
                case .success(let request):
                    _ = String(describing: request)
                case .failure(let error):
                    let reply = ControlProtocol.errorLine(error.description)
                    do {
                        let value = try StrictJSON.parseLine(reply)
                        fuzzCheck(value["error"]?.stringBytes == Array(error.description.utf8),
                                  "the error reply does not carry the message exactly")
                    } catch {
                        fuzzCheck(false, "error reply is not strict JSON (\(error)): \(reply)")
                    }
                }
            }
        }
    }
}
