/** Text every build-time stand-in carries; sysprep refuses to package an image that still has one. */
export const STAND_IN_MARKER = "bib-build-stand-in";
