#ifndef HDR_EVENT_H
#define HDR_EVENT_H
struct hdr_event {
    int pid;
    char comm[16];
};
#endif
