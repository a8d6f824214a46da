/** Setup of jest's chaos group: one run of N operations under kills takes many minutes. */
jest.setTimeout(90 * 60_000);
