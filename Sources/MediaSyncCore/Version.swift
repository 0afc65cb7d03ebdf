/// mediasync's version, printed by `mediasync --version` and sent in the socket's `hello`.
public enum MediaSyncVersion {
    public static let string = "0.1.0"
}
