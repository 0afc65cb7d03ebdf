import ArgumentParser
import Foundation
import MediaSyncCore
import MediaSyncEngine

/// `mediasync adopt-library`: after a deliberate move of the library, the new place becomes the library.
struct AdoptLibrary: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "adopt-library",
        abstract: "Make the folder at `library:` this mediasync's library, after you moved it on purpose.",
        discussion: """
            mediasync marks its library (.mediasync/library-id) and refuses to sync into, or purge for, a \
            library without its marker while the manifest says files are home there: that is what an unmounted \
            drive looks like. When you moved the library yourself (a new disk, a new path), check that `library:` \
            in the config points at it, that its files are there, then run this once. \
            Exit status: 0 when adopted, 2 for usage or config errors (e.g. the folder does not exist).
            """
    )

    @OptionGroup var options: ConfigOptions

    func run() throws {
        let config = try options.loadOrExit()
        do {
            try SyncRunner.prepareFolders(config)
            print(try LibraryIdentity.adopt(library: config.library, stateDirectory: config.stateDirectory))
        } catch let failure as SyncRunner.Failure {
            throw ConfigFailure(message: "mediasync: \(failure)").report()
        } catch {
            throw ConfigFailure(message: "mediasync: \(error)").report()
        }
    }
}
