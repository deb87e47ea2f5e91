/** The line a guest prints on its serial console once it is up; tests and people count boots by it. */
export const BOOT_BANNER = 'GALE-VM BOOTED';
/** Followed by eth0's address (from the DHCP lease in user mode, the kernel command line on the bridge): the internalIp. */
export const ADDRESS_LINE = 'GALE-VM eth0 address';
/**
 * What an image's init can do, kept in its manifest: a VM on the bridge needs an image whose init applies gale.ip, and
 * an image built before that is rebuilt by `gale images build --vm`.
 */
export const GUEST_FEATURES = ['static-address'] as const;
/** The line the guest prints when the ACPI power button (QMP system_powerdown) reaches it. */
export const POWER_BUTTON_LINE = 'GALE-VM power button pressed: powering off';

/**
 * PID 1 of the busybox VM. Nothing waits on the network: a guest with no DHCP answer still boots, and the banner
 * comes as soon as the power button works, which is the moment a graceful stop can reach the guest. On the bridge the
 * address comes on the kernel command line (gale.ip=a.b.c.d/len gale.gw=a.b.c.d), as nothing there answers DHCP.
 */
export function initScript(modules: string[]): string {
  return `#!/bin/sh
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts && mount -t devpts devpts /dev/pts
# In dependency order, as the image build resolved it from modules.dep.
for module in ${modules.join(' ')}; do
  insmod "/lib/modules/$module.ko" || echo "GALE-VM cannot load kernel module $module" > /dev/console
done
name=$(sed -n 's/.*gale\\.hostname=\\([^ ]*\\).*/\\1/p' /proc/cmdline)
hostname "\${name:-gale-vm}"
# The power button (evdev + button.ko) runs /etc/acpi/PWRF/00000080.
acpid
ip link set lo up
address=$(sed -n 's/.*gale\\.ip=\\([^ ]*\\).*/\\1/p' /proc/cmdline)
gateway=$(sed -n 's/.*gale\\.gw=\\([^ ]*\\).*/\\1/p' /proc/cmdline)
if ip link set eth0 up 2>/dev/null; then
  if [ -n "$address" ]; then
    if ip addr add "$address" dev eth0; then
      [ -n "$gateway" ] && ip route add default via "$gateway" dev eth0
      echo "${ADDRESS_LINE} \${address%/*}" > /dev/console
    else
      echo "GALE-VM cannot give eth0 the address $address" > /dev/console
    fi
  else
    udhcpc -i eth0 -s /etc/udhcpc.sh -t 5 -T 1 -n -q >/dev/null 2>&1 &
  fi
fi
echo "${BOOT_BANNER} $(hostname)" > /dev/console
while :; do sleep 3600; done
`;
}

/** busybox acpid's default action for the power button: say so on the console, then power off at once. */
export const POWER_BUTTON_HANDLER = `#!/bin/sh
echo "${POWER_BUTTON_LINE}" > /dev/console
sync
poweroff -f
`;

/** udhcpc hands the lease to a script; busybox ships none. mask is the prefix length, router may list several. */
export const UDHCPC_SCRIPT = `#!/bin/sh
case "$1" in
  deconfig) ip addr flush dev "$interface" ;;
  bound|renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/$mask" dev "$interface"
    for gateway in $router; do ip route add default via "$gateway" dev "$interface" && break; done
    : > /etc/resolv.conf
    for server in $dns; do echo "nameserver $server" >> /etc/resolv.conf; done
    echo "${ADDRESS_LINE} $ip" > /dev/console
    ;;
esac
`;
