import Foundation
import RNCommandLine

setvbuf(stdout, nil, _IOLBF, 0)   // epoch lines appear as they happen, also in a log file
TrainCommand.main()
