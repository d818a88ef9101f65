// Ctrl-C during a run: the first SIGINT requests that the loop stop after the current iteration, so
// the results found so far are still written; a second one ends the program at once.
#pragma once

namespace lsi {

// Installs the SIGINT handler; call once before the loop.
void install_interrupt_handler();

// Whether a stop was requested since the handler was installed.
bool interrupt_requested();

}  // namespace lsi
