import MediaSyncCore
import UV
