/// Bytes per second over a sliding window of a cumulative byte counter, read at any instant.
///
/// The rate is `(bytes now - bytes at (now - window)) / window`, with the counter interpolated
/// linearly between samples. Because it is read at `now` rather than at the last sample, a stall
/// shows as a steady decay: a one-second stall in a 5-second window costs a fifth of the rate,
/// and a stop that lasts the whole window reads 0. Before a full window of history exists, the
/// span since the first sample is used instead (and the rate is unknown below `minimumSpan`); samples
/// closer than `window / 50` to the first one replace it (a start-up burst is not speed).
///
/// ```swift
/// var rate = RateEstimator()
/// rate.add(bytes: 0, at: 0)
/// rate.add(bytes: 8_000_000, at: 1)
/// rate.rate(at: 1)   // 8_000_000
/// ```
public struct RateEstimator: Sendable {
    /// The window: long enough to ride out rsync's once-a-second records and short pauses.
    public static let defaultWindow: Double = 5
    /// Below this much history a rate is a guess from one record; report none.
    public static let minimumSpan: Double = 0.5

    struct Sample: Sendable {
        var time: Double
        var bytes: Int64
    }

    public let window: Double
    private let resolution: Double
    private var samples: [Sample] = []
    private var origin: Double?   // when the first sample since the start (or a reset) came

    public init(window: Double = RateEstimator.defaultWindow) {
        self.window = max(window, RateEstimator.minimumSpan)
        self.resolution = self.window / 50
    }

    /// How many samples are held (bounded by about window / resolution, however many are added).
    var sampleCount: Int { samples.count }

    /// Records the counter's value at `time` (monotonic seconds). Samples out of time order are
    /// dropped; a counter that went down is held at its last value (rates are never negative).
    public mutating func add(bytes: Int64, at time: Double) {
        if let last = samples.last {
            guard time >= last.time else { return }
            let value = max(bytes, last.bytes)
            // A burst of records (one per small file) moves the newest sample instead of adding
            // one: samples stay `resolution` apart, so a window holds about 50 of them.
            if samples.count == 1, let origin, time - origin < resolution {
                // The first burst is one instant: rsync's first records come together (its output is
                // buffered), the oldest of them stale, so the history starts after the burst.
                samples[0] = Sample(time: time, bytes: value)
            } else if samples.count >= 2, time - samples[samples.count - 2].time < resolution {
                samples[samples.count - 1] = Sample(time: time, bytes: value)
            } else if time == last.time {
                samples[samples.count - 1].bytes = value
            } else {
                samples.append(Sample(time: time, bytes: value))
            }
        } else {
            samples.append(Sample(time: time, bytes: bytes))
            origin = time
        }
        prune(before: time - window)
    }

    /// When the newest sample was taken; nil before the first.
    public var lastSampleTime: Double? { samples.last?.time }

    /// Forgets the history, e.g. when a job stops transferring.
    public mutating func reset() {
        samples.removeAll()
        origin = nil
    }

    /// The rate at `now`, or nil while there is too little history to tell.
    public func rate(at now: Double) -> Double? {
        guard let first = samples.first, let last = samples.last, now >= last.time else { return nil }
        let start = now - window
        if first.time >= start {
            let span = now - first.time
            guard span >= RateEstimator.minimumSpan else { return nil }
            return Double(last.bytes - first.bytes) / span
        }
        return Double(last.bytes - bytes(at: start)) / window
    }

    /// The counter interpolated at `time`, which lies after the first sample.
    private func bytes(at time: Double) -> Int64 {
        var previous = samples[0]
        for sample in samples.dropFirst() {
            if sample.time >= time {
                let fraction = (time - previous.time) / (sample.time - previous.time)
                return previous.bytes + Int64(Double(sample.bytes - previous.bytes) * fraction)
            }
            previous = sample
        }
        return previous.bytes
    }

    /// Keeps one sample at or before `start` as the window's baseline, drops the older ones.
    private mutating func prune(before start: Double) {
        var keepFrom = 0
        while keepFrom + 1 < samples.count && samples[keepFrom + 1].time <= start {
            keepFrom += 1
        }
        if keepFrom > 0 { samples.removeFirst(keepFrom) }
    }
}
