# Wraps meson/ninja so that "./configure && make && make check" works as
# QEMU users expect.
BUILD ?= build

.PHONY: all check check-unit check-functional clean install guest

all: $(BUILD)/build.ninja
	ninja -C $(BUILD)

$(BUILD)/build.ninja:
	./configure --builddir=$(BUILD)

# The whole suite; ends with "N passed, N failed".
check: all
	scripts/run-tests.sh $(BUILD)

check-unit: all
	meson test -C $(BUILD) --suite unit --print-errorlogs

guest:
	scripts/build-test-guest.sh

install: all
	meson install -C $(BUILD)

clean:
	rm -rf $(BUILD)
