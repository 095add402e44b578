/** The {@code java -jar hyperattn.jar} command: a timed, self-checking attention run. */
package dev.hyperattn.cli;
