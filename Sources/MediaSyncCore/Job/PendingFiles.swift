/// A job's planned files not home yet, by their index in the plan, and the index of each planned path.
///
/// The path is hashed once, when rsync names a file; every later question (still to come? home now?) is
/// asked by index. Asking by path hashed the path again at each look, move and sweep (a fifth of the
/// machine's time per small file).
struct PendingFiles: Sendable {
    /// Every planned path's index in the plan (made once, never changed).
    private var byPath: [PathKey: Int] = [:]
    /// Whether each planned file is still to come home.
    private var waiting: [Bool] = []
    /// How many are.
    private(set) var count = 0

    init() {}

    /// Every file of `planned` is pending.
    init(_ planned: [SyncPlan.Transfer]) {
        byPath.reserveCapacity(planned.count)
        for (index, transfer) in planned.enumerated() { byPath[PathKey(transfer.remotePath)] = index }
        waiting = Array(repeating: true, count: planned.count)
        count = planned.count
    }

    var isEmpty: Bool { count == 0 }

    /// The plan index of the pending file at `path`; nil when it is not planned or home already.
    func index(of path: [UInt8]) -> Int? {
        guard let index = byPath[PathKey(path)], waiting[index] else { return nil }
        return index
    }

    func contains(_ index: Int) -> Bool { waiting.indices.contains(index) && waiting[index] }

    /// The file is home (or will not come: deferred): no longer pending.
    mutating func remove(_ index: Int) {
        guard contains(index) else { return }
        waiting[index] = false
        count -= 1
    }

    /// The plan indexes still pending, in plan order.
    var indices: [Int] { waiting.indices.filter { waiting[$0] } }
}
